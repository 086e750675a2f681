import uuid

from servicekit.ids import new_uuid


def test_new_uuid_is_a_random_version_4_uuid_in_canonical_text():
    made = {new_uuid() for _ in range(2000)}
    assert len(made) == 2000
    for text in made:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)
