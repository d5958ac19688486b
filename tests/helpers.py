"""Small assertions shared by the CLI tests."""


def error_line(err: str) -> str:
    """The CLI's stderr holds exactly one `kotae: error:` line and no traceback; return it."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kotae: error: ")
    assert "Traceback" not in err
    return lines[0]
