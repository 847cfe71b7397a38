import replicate_batch


def test_exported_members_are_documented_and_exist() -> None:
    for name in replicate_batch.__all__:
        member = getattr(replicate_batch, name)
        assert member.__doc__, name
    public = {n for n in dir(replicate_batch) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(replicate_batch, n)).__name__ == "module"}
    assert public - modules == set(replicate_batch.__all__)
