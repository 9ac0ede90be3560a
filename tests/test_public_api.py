"""The public surface is exactly ``touchpath.__all__``: nothing leaks, nothing is missing."""

import touchpath

EXPECTED = {
    "CHANNELS", "AuthError", "ConfigError", "DuckDBStore", "EraseResult", "EventStore",
    "ImportMapping", "ImportSummary", "NotFoundError", "ParseOptions", "PayloadTooLargeError",
    "QueryError", "Settings", "StorageError", "StoreLockedError", "TouchpathError",
    "ValidationError", "WriteResult", "__version__", "classify", "import_file", "load_mapping",
    "load_settings", "open_store", "parse_message",
    # analytics
    "AnalysisResult", "DateRange", "DidEvent", "EventMatcher", "Filters", "FunnelSpec",
    "FunnelStep", "HasProperties", "LifecycleSpec", "PathsSpec", "PersonList", "PropertyFilter",
    "RetentionSpec", "SavedSegment", "SessionsSpec", "StageModel", "StagesSpec", "TableSource",
    "analyse", "load_stages", "save_segment",
    # attribution and value
    "AttributionSpec", "CLVSpec", "purchase_summary",
    # the journey map
    "JourneyMapSpec", "save_opportunity",
    # voice of the customer
    "DriversSpec", "SatisfactionSpec", "Survey", "ThemesSpec", "load_survey_file",
    "record_answer", "save_survey",
}


def test_all_is_the_public_surface() -> None:
    assert set(touchpath.__all__) == EXPECTED
    for name in touchpath.__all__:
        assert hasattr(touchpath, name), name


def test_public_callables_are_documented() -> None:
    for name in touchpath.__all__:
        obj = getattr(touchpath, name)
        if callable(obj):
            assert obj.__doc__, f"{name} has no docstring"
