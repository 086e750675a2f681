"""SEC-03: the services' Kafka clients speak TLS to the brokers, trusting the CA they are given.

The bundled Tansu (0.6.0) cannot terminate TLS itself (its ``--cert``/``--key`` exclude each other
and the acceptor is never used) nor keep SCRAM users (its memory and S3 storage drop them), so
the test puts a TLS proxy in front of it and has Tansu advertise the proxy: every connection the
bus makes (admin, producer, FastStream's consumers) goes through TLS. SCRAM-SHA-512 is passed to
aiokafka by the same ``_security`` but needs a broker that stores users (Apache Kafka: run the
suite with ``KAFKA_BOOTSTRAP_SERVERS``); deploy/README.md says how Strimzi provides both.
"""

import asyncio
import datetime
import ipaddress
import json
import ssl
import uuid
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from servicekit.bus import Bus, Incoming, OutgoingMessage
from servicekit.pytest_plugin import _tansu, free_port
from servicekit.settings import ServiceSettings

TIMEOUT = 60.0  # a bound for a broken connection to fail the test, never a measure


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class TlsProxy:
    """TLS on ``port``, plain TCP to the broker behind; counts the handshakes it completed."""

    def __init__(self, port: int, upstream: str, cert: Path, key: Path):
        self.port, self.upstream = port, upstream
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.handshakes = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> "TlsProxy":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self.context)
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handshakes += 1  # called once the TLS handshake has succeeded
        host, port = self.upstream.split(":")
        up_reader, up_writer = await asyncio.open_connection(host, int(port))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def bus_trusting(tmp_path: Path, port: int, ca_file: Path) -> Bus:
    """The bus a service builds from its settings (``PRESTAFLOW_KAFKA_CA_FILE`` set)."""
    return Bus.from_settings(ServiceSettings(home=tmp_path / "home", bus=f"kafka://127.0.0.1:{port}",
                                             kafka_idempotence=False, kafka_ca_file=ca_file))


async def test_sec03_the_bus_publishes_and_consumes_over_tls_with_the_ca_it_is_given(tmp_path):
    cert, key = self_signed(tmp_path, "broker")
    port = free_port()
    with _tansu(advertised_port=port) as broker:
        async with TlsProxy(port, broker.bootstrap, cert, key) as proxy:
            bus = bus_trusting(tmp_path, port, cert)
            received: list[Incoming] = []

            async def consume(messages: list[Incoming], topic: str) -> None:
                received.extend(messages)

            topic = f"securite.tls.{uuid.uuid4().hex[:8]}"
            bus.subscribe(topic, "securite", consume)
            await asyncio.wait_for(bus.start(), TIMEOUT)
            try:
                await asyncio.wait_for(bus.publish([OutgoingMessage(
                    topic, "structure-1", json.dumps({"n": 1}).encode(), {"type": "Numbered"})]), TIMEOUT)
                async with asyncio.timeout(TIMEOUT):
                    while not received:
                        await asyncio.sleep(0.05)
            finally:
                await asyncio.wait_for(bus.stop(), TIMEOUT)
            assert [(json.loads(m.body), m.type) for m in received] == [({"n": 1}, "Numbered")]
            assert proxy.handshakes >= 2  # bootstrap, then the advertised broker: all through TLS


async def test_sec03_a_broker_whose_certificate_the_ca_does_not_sign_is_refused(tmp_path):
    cert, key = self_signed(tmp_path, "broker")
    other, _ = self_signed(tmp_path, "someone-else")
    port = free_port()
    with _tansu(advertised_port=port) as broker:
        async with TlsProxy(port, broker.bootstrap, cert, key) as proxy:
            refused = bus_trusting(tmp_path, port, other)
            with pytest.raises(KafkaConnectionError):
                await asyncio.wait_for(refused.start(), TIMEOUT)
            await asyncio.wait_for(refused.stop(), TIMEOUT)
            assert proxy.handshakes == 0  # no connection got past the certificate check
            # The same proxy, the right CA: the refusal above was the certificate's, nothing else.
            trusting = bus_trusting(tmp_path, port, cert)
            await asyncio.wait_for(trusting.start(), TIMEOUT)
            await asyncio.wait_for(trusting.stop(), TIMEOUT)
            assert proxy.handshakes >= 1
