"""The Parquet lake on Spark: ``touchpath lake stitch SOURCE TARGET`` re-stitches the identities
of an export or a rolled lake on the configured Spark (``spark_master``). Thin: it calls
:func:`touchpath.identity.spark_stitch.restitch`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from touchpath.cli import _errors, app, out, settings

lake_app = typer.Typer(help="The Parquet lake (an export or the collector's rolled events), on "
                            "Spark.", no_args_is_help=True)
app.add_typer(lake_app, name="lake")


@lake_app.command("stitch")
def lake_stitch(
    source: Annotated[Path, typer.Argument(help="An export or lake directory (with events/).")],
    target: Annotated[Path, typer.Argument(help="A new directory for the re-stitched lake.")],
) -> None:
    """Compute every event's person again from the identity keys of the whole lake, on Spark
    (connected components in joins: no id is collected to the driver), and write the lake
    with the new person ids and its identities to TARGET. The cap on user ids per person is
    not applied on Spark (docs/spark.md)."""
    from touchpath.identity.spark_stitch import restitch
    from touchpath.store.spark import spark_session

    with _errors():
        configured = settings()
        session = spark_session(configured)
        report = restitch(session, source, target, configured)
    out.print(f"re-stitched {source} into {target}: {report}")
