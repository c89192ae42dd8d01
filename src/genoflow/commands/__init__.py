"""The `genoflow <stage>` commands by domain: each module holds its commands' handlers
(`cmd_<stage>`) beside their parsers (`_<stage>_parser`); genoflow.cli gathers them."""
