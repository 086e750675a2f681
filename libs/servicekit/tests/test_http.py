import gc

from servicekit.http import FULL_COLLECTION_THRESHOLD, _freeze_start_up


def test_start_up_is_frozen_and_full_collections_are_spaced_out_for_large_imports():
    _freeze_start_up()
    _freeze_start_up()  # a process starting many apps tunes the collector once

    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[2] == FULL_COLLECTION_THRESHOLD > 10
    assert gc.isenabled()
