"""The Python examples in README.md run and do what they say."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README.md has no Python example"
    for code in blocks:
        if "import" not in code:
            continue  # a one-line import shown for illustration
        exec(compile(code, str(README), "exec"), {})
    printed = capsys.readouterr().out.split()
    # the pipeline example prints a classification accuracy and a regression R^2
    assert float(printed[0]) > 0.95
    assert float(printed[-1]) > 0.9
