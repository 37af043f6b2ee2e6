"""The image (Dockerfile) and docker-compose.yml, checked without Docker: what they run, run by hand."""

import json
import shlex

from tests.subprocess_env import ROOT, run_manage


def dockerfile_run_step(word: str) -> tuple[dict[str, str], list[str]]:
    """The Dockerfile's RUN step that mentions `word`: (its VAR=value prefix, the command after it)."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    (line,) = [line for line in lines if line.startswith("RUN ") and word in line]
    words = shlex.split(line.removeprefix("RUN "))
    env = {}
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    return env, words


def test_the_image_collects_static_files_with_the_manifest_production_serves_them_by(tmp_path):
    # Collected with debug settings, the files had no manifest, and every page of the image (DJANGO_DEBUG=false,
    # hashed names from the manifest) was a 500: "Missing staticfiles manifest entry for 'favicon.svg'".
    env, command = dockerfile_run_step("collectstatic")
    assert command[:2] == ["python", "manage.py"]
    result = run_manage(command[2:], {**env, "CONVOSENSEI_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "staticfiles" / "staticfiles.json").read_text())
    assert "favicon.svg" in manifest["paths"]
