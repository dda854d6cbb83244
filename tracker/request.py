import codecs

from django.core.exceptions import BadRequest
from django.core.handlers.wsgi import WSGIRequest, get_bytes_from_wsgi
from django.http import QueryDict
from django.utils.functional import cached_property

# Codecs Python knows that are no charset a client can mean: they refuse to decode with
# errors="replace" (idna, undefined), fail otherwise than with UnicodeDecodeError (punycode), or
# read backslashes as escapes. Codecs that are not text encodings at all (base64, rot13, zlib…)
# are refused as well.
NOT_CHARSETS = {"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"}


def is_charset(name: str) -> bool:
    """Whether a request may be decoded in this charset."""
    try:
        codec = codecs.lookup(name)
    except LookupError:
        return False
    return codec._is_text_encoding and codec.name not in NOT_CHARSETS


class Request(WSGIRequest):
    """Django's WSGI request (tracker/wsgi.py builds every request with it), except that its
    Content-Type header never raises while the request is built — before any middleware or
    error handler, so the server answered 500:

    - a header Django cannot parse (an RFC 2231 parameter in an unknown charset, such as
      `text/plain; name*=x''y`, or one over 10,000 characters) makes the body unreadable
      instead: reading the form (the CSRF check, a view) raises Django's BadRequest, which the
      400 handler answers; a request that does not read its body is served as usual;
    - Django decoded the query string in the charset of the body, at once when the charset
      was set: too many fields (TooManyFieldsSent) raised there, not as the usual 400 on first
      use; a codec that cannot decode text (`charset=rot13`, `charset=idna`) raised; and a
      charset that cannot hold what was decoded (`charset=ascii` with `?q=%C3%A9`) raised
      when the query string was encoded again (`request.GET.urlencode()`). Here the query
      string, part of the URL, is UTF-8 whatever the body's charset, decoded when first used;
      the body's charset is ignored when it is no text encoding, like one Python does not
      know (UTF-8, as without a charset)."""

    _content_type_error: BadRequest | None = None

    def _set_content_type_params(self, meta: dict) -> None:
        try:
            # Private in Django (WSGIRequest.__init__ calls it), so not in django-stubs.
            super()._set_content_type_params(meta)  # type: ignore[misc]
        except BadRequest as error:
            self.content_type, self.content_params = "", {}
            self._content_type_error = error

    @property
    def encoding(self) -> str | None:
        return self._encoding

    @encoding.setter
    def encoding(self, value: str | None) -> None:
        self._encoding = value if value is None or is_charset(value) else None
        # The body is decoded again, in the new charset, when next read.
        self.__dict__.pop("_post", None)

    @cached_property
    def GET(self) -> QueryDict:  # type: ignore[override]  # as in django-stubs
        return QueryDict(get_bytes_from_wsgi(self.environ, "QUERY_STRING", ""), encoding="utf-8")

    def _load_post_and_files(self) -> None:
        if self._content_type_error is not None:
            raise self._content_type_error
        super()._load_post_and_files()
