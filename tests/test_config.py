"""Settings: defaults, the TOML file, the environment, overrides, and the checks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpath.config import (
    DEFAULT_BLOCKED_IDS,
    ENV_PREFIX,
    IP_MODES,
    MATCH_KEYS,
    Settings,
    load_settings,
    settings_markdown,
)
from touchpath.errors import ConfigError


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ./touchpath.toml in the developer's checkout must not leak into these tests."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)


def _toml(tmp_path: Path, text: str, name: str = "conf.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    s = load_settings(env={})
    assert s == Settings()
    assert s.store_path == Path("touchpath.duckdb")
    assert s.host == "127.0.0.1"
    assert s.port == 8000
    assert s.ip_mode == "truncate"
    assert s.ip_salt == ""
    assert s.identity_match_keys == ("email", "phone")
    assert s.identity_blocked_values == DEFAULT_BLOCKED_IDS
    assert "null" in s.identity_blocked_values
    assert s.identity_max_user_ids == 1
    assert s.default_country_code == ""
    assert s.admin_token == ""


def test_settings_are_frozen() -> None:
    s = load_settings(env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.port = 1  # type: ignore[misc]


def test_toml_file_is_read(tmp_path: Path) -> None:
    path = _toml(tmp_path, """
store_path = "data/events.duckdb"
port = 9001
ip_mode = "hash"
ip_salt = "pepper"
identity_match_keys = ["email"]
identity_max_user_ids = 3
default_country_code = "972"
admin_token = "tok-123"
identity_blocked_values = ["null", "guest"]
""")
    s = load_settings(path, env={})
    assert s.store_path == Path("data/events.duckdb")
    assert s.port == 9001
    assert s.ip_mode == "hash"
    assert s.ip_salt == "pepper"
    assert s.identity_match_keys == ("email",)
    assert s.identity_max_user_ids == 3
    assert s.default_country_code == "972"
    assert s.admin_token == "tok-123"
    assert s.identity_blocked_values == ("null", "guest")
    assert s.host == "127.0.0.1"  # untouched settings keep their default


def test_config_file_from_env_var(tmp_path: Path) -> None:
    path = _toml(tmp_path, "port = 9100\n")
    assert load_settings(env={"TOUCHPATH_CONFIG": str(path)}).port == 9100


def test_default_config_file_in_cwd_is_read() -> None:
    Path("touchpath.toml").write_text("port = 9200\n", encoding="utf-8")
    assert load_settings(env={}).port == 9200


def test_explicit_config_file_beats_env_config_file(tmp_path: Path) -> None:
    a = _toml(tmp_path, "port = 1111\n", "a.toml")
    b = _toml(tmp_path, "port = 2222\n", "b.toml")
    assert load_settings(a, env={"TOUCHPATH_CONFIG": str(b)}).port == 1111


def test_env_overrides_toml_and_overrides_beat_env(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'port = 9001\nhost = "0.0.0.0"\nidentity_match_keys = ["email"]\n')
    env = {"TOUCHPATH_PORT": "9002", "TOUCHPATH_IDENTITY_MATCH_KEYS": "phone, email"}
    s = load_settings(path, env=env)
    assert s.port == 9002
    assert s.host == "0.0.0.0"
    assert s.identity_match_keys == ("phone", "email")
    s = load_settings(path, env=env, port=9003, host=None)
    assert s.port == 9003
    assert s.host == "0.0.0.0"  # an override of None means "not given"


def test_env_values_are_coerced() -> None:
    s = load_settings(env={
        "TOUCHPATH_STORE_PATH": "~/tp/store.duckdb",
        "TOUCHPATH_IDENTITY_MAX_USER_IDS": " 2 ",
        "TOUCHPATH_IDENTITY_MATCH_KEYS": "",
        "TOUCHPATH_IDENTITY_BLOCKED_VALUES": "null, ,none,",
    })
    assert s.store_path == Path("~/tp/store.duckdb").expanduser()
    assert "~" not in str(s.store_path)
    assert s.identity_max_user_ids == 2
    assert s.identity_match_keys == ()
    assert s.identity_blocked_values == ("null", "none")


def test_unrelated_env_vars_are_ignored() -> None:
    assert load_settings(env={"PATH": "/bin", "TOUCHPATHX": "1", "PORT": "1"}) == Settings()


def test_unknown_toml_key_is_named(tmp_path: Path) -> None:
    path = _toml(tmp_path, "port = 9001\nidentity_max_userids = 5\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert info.value.field == "identity_max_userids"
    assert "identity_max_user_ids" in info.value.message  # lists what is known


def test_unknown_env_var_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"TOUCHPATH_FOO": "1"})
    assert info.value.field == "TOUCHPATH_FOO"
    assert info.value.code == "bad_config"


def test_unknown_override_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, colour="blue")
    assert info.value.field == "colour"


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.toml", env={})
    assert info.value.field == "TOUCHPATH_CONFIG"


def test_invalid_toml(tmp_path: Path) -> None:
    path = _toml(tmp_path, "port = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, env={})


@pytest.mark.parametrize("raw", ["abc", "80.5", "", "8000x"])
def test_bad_int_in_env(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"TOUCHPATH_PORT": raw})
    assert info.value.field == "TOUCHPATH_PORT"


@pytest.mark.parametrize("value", ['"eighty"', "true", "[1]", "{ a = 1 }", "1979-05-27"])
def test_bad_int_in_toml(tmp_path: Path, value: str) -> None:
    path = _toml(tmp_path, f"port = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert info.value.field == "port"


@pytest.mark.parametrize(
    ("name", "value"), [("port", "8000.9"), ("identity_max_user_ids", "1.5")]
)
def test_fractional_int_in_toml_is_refused_not_truncated(
    tmp_path: Path, name: str, value: str
) -> None:
    # A bad value must fail at start: running on port 8000 or with a cap of 1 when the file says
    # 8000.9 or 1.5 is a silent surprise, unlike the environment, where "80.5" fails.
    path = _toml(tmp_path, f"{name} = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert info.value.field == name


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("host = 5\n", "host"),
        ("identity_match_keys = [1, 2]\n", "identity_match_keys"),
        ("identity_match_keys = 3\n", "identity_match_keys"),
        ("ip_salt = [\"a\"]\n", "ip_salt"),
    ],
)
def test_wrong_type_in_toml(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_toml(tmp_path, text), env={})
    assert info.value.field == field


def test_ip_mode_must_be_known() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"TOUCHPATH_IP_MODE": "scramble"})
    assert info.value.field == "ip_mode"


@pytest.mark.parametrize("mode", IP_MODES)
def test_every_ip_mode_is_accepted(mode: str) -> None:
    assert load_settings(env={}, ip_mode=mode, ip_salt="s").ip_mode == mode


def test_ip_mode_hash_needs_a_salt(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"TOUCHPATH_IP_MODE": "hash"})
    assert info.value.field == "ip_salt"
    path = _toml(tmp_path, 'ip_mode = "hash"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert info.value.field == "ip_salt"
    assert load_settings(path, env={"TOUCHPATH_IP_SALT": "s3cret"}).ip_salt == "s3cret"


@pytest.mark.parametrize("keys", ["email,fax", "mail", "email,phone,address"])
def test_bad_match_key(keys: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"TOUCHPATH_IDENTITY_MATCH_KEYS": keys})
    assert info.value.field == "identity_match_keys"


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"TOUCHPATH_IDENTITY_MAX_USER_IDS": "0"}, "identity_max_user_ids"),
        ({"TOUCHPATH_PORT": "0"}, "port"),
        ({"TOUCHPATH_PORT": "65536"}, "port"),
        ({"TOUCHPATH_DEFAULT_COUNTRY_CODE": "+972"}, "default_country_code"),
        ({"TOUCHPATH_DEFAULT_COUNTRY_CODE": "IL"}, "default_country_code"),
        ({"TOUCHPATH_IDENTITY_MAX_USER_IDS": "-3"}, "identity_max_user_ids"),
        ({"TOUCHPATH_DUCKDB_MEMORY_LIMIT": "3"}, "duckdb_memory_limit"),
        ({"TOUCHPATH_DUCKDB_MEMORY_LIMIT": "lots"}, "duckdb_memory_limit"),
        ({"TOUCHPATH_DUCKDB_MEMORY_LIMIT": "3GB'; DROP TABLE events; --"}, "duckdb_memory_limit"),
    ],
)
def test_range_checks(env: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env=env)
    assert info.value.field == field


def test_every_setting_has_a_doc() -> None:
    described = Settings().describe()
    assert [name for name, _, _ in described] == [f.name for f in dataclasses.fields(Settings)]
    for name, _, doc in described:
        assert isinstance(doc, str) and len(doc.strip()) >= 10, name


def test_settings_markdown_lists_every_setting_with_its_env_var() -> None:
    text = settings_markdown()
    for f in dataclasses.fields(Settings):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| `{f.name}` |"))
        assert f"`{ENV_PREFIX}{f.name.upper()}`" in line
        assert f.metadata["doc"] in line


def test_describe_renders_current_values() -> None:
    s = load_settings(env={}, port=9999, identity_match_keys="phone,email")
    rendered = {name: value for name, value, _ in s.describe()}
    assert rendered["port"] == "9999"
    assert rendered["identity_match_keys"] == "phone,email"
    assert rendered["ip_mode"] == "truncate"


def test_match_keys_constant_matches_default() -> None:
    assert set(Settings().identity_match_keys) <= set(MATCH_KEYS)


@given(port=st.integers(min_value=1, max_value=65535), pad=st.sampled_from(["", " ", "\t"]))
def test_any_valid_port_from_env(port: int, pad: str) -> None:
    assert load_settings(env={"TOUCHPATH_PORT": f"{pad}{port}{pad}"}).port == port


@given(keys=st.lists(st.sampled_from(MATCH_KEYS), unique=True))
def test_match_keys_from_env_round_trip(keys: list[str]) -> None:
    s = load_settings(env={"TOUCHPATH_IDENTITY_MATCH_KEYS": " , ".join(keys)})
    assert s.identity_match_keys == tuple(keys)
