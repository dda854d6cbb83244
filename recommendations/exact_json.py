"""A JSON serialization format for backups that keeps timestamps to the microsecond.

Django's JSON encoder cuts times to milliseconds (as JavaScript would); a restored history
must keep the exact times, which order assessments. Registered as "exact-json" in
SERIALIZATION_MODULES; loaddata reads its files as plain JSON.
"""

import datetime
from typing import Any

from django.core.serializers.json import Deserializer as JSONDeserializer
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.json import Serializer as JSONSerializer


class ExactJSONEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime):
            text = o.isoformat()
            return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
        if isinstance(o, datetime.time) and o.tzinfo is None:
            return o.isoformat()
        return super().default(o)


class Serializer(JSONSerializer):
    def start_serialization(self) -> None:
        self.options["cls"] = ExactJSONEncoder  # the JSON serializer passes it to json.dump
        super().start_serialization()


Deserializer = JSONDeserializer
