import uuid

from scheduling.domain.cooperatives import KnownCooperative, newest


def test_the_highest_version_of_each_cooperative_is_kept_whatever_the_order():
    first, second = uuid.uuid4(), uuid.uuid4()
    old = KnownCooperative(first, "35.17", "Koperasi Desa Merah Putih Plandi", ("35.17.09",), 1)
    renamed = KnownCooperative(first, "35.17", "Koperasi Plandi Jaya", ("35.17.09",), 2)
    other = KnownCooperative(second, "35.17", "Koperasi Desa Merah Putih Jombok", ("35.17.03",), 1)

    kept = newest([renamed, other, old, renamed])

    assert len(kept) == 2 and set(kept) == {renamed, other}
