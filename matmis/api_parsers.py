"""The API's JSON parser (``DEFAULT_PARSER_CLASSES``): DRF's, with two limits every body
meets before any view or serializer sees it, each a 400 in the API's error shape.

- **Nesting**: at most ``MAX_JSON_DEPTH`` arrays and objects inside each other. No request
  of this API nests more than a few levels, and Python's JSON decoder and everything that
  walks the data recursively fail (a server error) somewhere past a thousand.
- **NUL characters**: none in any string or key (``\\u0000``). PostgreSQL cannot store or
  compare text holding one (forms and query strings: ``matmis.client_input``).
"""

from rest_framework import exceptions, parsers

MAX_JSON_DEPTH = 32


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_too_deep()) from None
        problem = json_problem(data)
        if problem:
            raise exceptions.ParseError(problem)
        return data


def _too_deep() -> str:
    return f"The JSON body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep."


def json_problem(data) -> str | None:
    """What this parser refuses in parsed JSON ``data``, or None. Iterative: the data may
    be as deep as the decoder allowed."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth >= MAX_JSON_DEPTH:
                return _too_deep()
            if any("\x00" in key for key in value):
                return "A key in the JSON body holds a NUL character (\\u0000)."
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            if depth >= MAX_JSON_DEPTH:
                return _too_deep()
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and "\x00" in value:
            return "A string in the JSON body holds a NUL character (\\u0000)."
    return None
