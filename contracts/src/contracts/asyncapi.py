"""AsyncAPI 2.6 document of every topic, generated from the contracts (``contracts/asyncapi.json``)."""

from typing import Any

from contracts import topics
from contracts.envelope import Envelope
from contracts.registry import PUBLISHED_MODELS as EVENT_MODELS


def document() -> dict[str, Any]:
    envelope = Envelope.model_json_schema(mode="serialization", ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = {"Envelope": {k: v for k, v in envelope.items() if k != "$defs"}}
    messages: dict[str, Any] = {}
    for model in EVENT_MODELS:
        schema = model.model_json_schema(mode="serialization", ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        name = f"{model.event_type}V{model.event_version}"
        schemas[name] = schema
        messages[name] = {
            "name": model.event_type, "title": f"{model.event_type} v{model.event_version}",
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "headers": {"type": "object", "properties": {"type": {"const": model.event_type}}},
            "payload": {"allOf": [{"$ref": "#/components/schemas/Envelope"}, {"type": "object", "properties": {
                "type": {"const": model.event_type}, "version": {"const": model.event_version},
                "payload": {"$ref": f"#/components/schemas/{name}"}}}]},
        }
    channels = {}
    for producer, topic in topics.BY_PRODUCER.items():
        produced = [f"{m.event_type}V{m.event_version}" for m in EVENT_MODELS if m.producer == producer]
        channels[topic] = {
            "description": f"Events of the {producer} service, keyed by aggregate id (beneficiary, enrolment, "
                           "action, invoice); consumers dispatch on the envelope's type.",
            "subscribe": {"operationId": f"consume_{producer}_events",
                          "message": {"oneOf": [{"$ref": f"#/components/messages/{n}"} for n in produced]}},
        }
        channels[topics.dead_letter_topic(producer)] = {
            "description": f"Events {producer} could not process after its retries, with the error; "
                           "re-driven by `prestaflow deadletters redrive`.",
        }
    return {"asyncapi": "2.6.0",
            "info": {"title": "Prestaflow events", "version": "1",
                     "description": "Every topic of the Prestaflow bus. The envelope carries routing and tracing; "
                                    "personal data only ever travels sealed with the person's key."},
            "defaultContentType": "application/json",
            "channels": channels, "components": {"schemas": schemas, "messages": messages}}
