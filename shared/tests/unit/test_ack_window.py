"""When a run of finished deliveries may be settled with one multiple ack, and when it may not."""
from bimtek_shared.nameko_ext.ack_window import AckWindow


def window_with(*tags: int) -> AckWindow:
    window = AckWindow()
    for tag in tags:
        window.received(tag)
    return window


def test_a_finished_batch_at_the_head_is_acked_up_to_its_last_tag():
    window = window_with(1, 2, 3, 4)
    assert window.finish([1, 2, 3]) == 3
    assert len(window) == 1 and not window.has_stragglers()


def test_deliveries_finished_behind_an_unfinished_one_wait():
    window = window_with(1, 2, 3)  # 1: a long import still running
    assert window.finish([2, 3]) is None
    assert window.has_stragglers()
    # the import finishes: everything goes in one ack
    assert window.finish([1]) == 3
    assert len(window) == 0


def test_stragglers_leave_the_window_to_be_acked_singly_and_are_never_acked_again():
    window = window_with(1, 2, 3, 4)
    window.finish([2, 4])
    assert window.take_stragglers() == [2, 4]
    assert not window.has_stragglers()
    # 1 and 3 finish later: the multiple ack ends at 3, an outstanding tag (2 is not named again)
    assert window.finish([1]) == 1
    assert window.finish([3]) == 3


def test_a_requeued_delivery_is_forgotten_so_no_ack_names_it():
    window = window_with(1, 2, 3)
    window.finish([2, 3])
    window.forget(1)  # requeued: the broker no longer holds it as unacked on this channel
    assert window.finish([]) == 3


def test_a_multiple_ack_never_ends_on_a_tag_that_was_settled_another_way():
    window = window_with(1, 2, 3)
    window.forget(3)
    assert window.finish([1, 2]) == 2


def test_unknown_tags_are_ignored():
    window = window_with(5)
    assert window.finish([1, 2]) is None  # from before a reconnect
    assert window.finish([5]) == 5
