"""Request signatures of the cloud SMS APIs, for the SMS request template: Aliyun's RPC
signature (SendSms, signature version 1.0, HMAC-SHA1), as `{{ aliyun_query(params) }}`.

Aliyun signs the query itself: every parameter, the common ones included (AccessKeyId,
Timestamp, SignatureNonce...), percent-encoded (RFC 3986, space as %20), sorted by name,
joined with `&`; the string to sign is `GET&%2F&` + that string encoded once more; the
signature is base64(HMAC-SHA1(AccessKeySecret + "&", string to sign)), as Aliyun's SDKs for
the 2017-05-25 SMS API compute it (no vendor test vector was found to check it against: the
tests recompute it independently). Tencent Cloud's TC3-HMAC-SHA256 is not here: reach it
through a relay. The key id and secret come from the variables `access_key_env` and
`access_secret_env` name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

ALIYUN_COMMON = {
    "Action": "SendSms",
    "Format": "JSON",
    "RegionId": "cn-hangzhou",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureVersion": "1.0",
    "Version": "2017-05-25",
}


def percent(value: str) -> str:
    """Aliyun's encoding: RFC 3986 unreserved characters kept, everything else %XX."""
    return quote(value, safe="-_.~")


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "GET") -> str:
    canonical = "&".join(f"{percent(k)}={percent(params[k])}" for k in sorted(params))
    to_sign = f"{method}&{percent('/')}&{percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def aliyun_query(
    key_id: str,
    secret: str,
    clock: Callable[[], float],
    nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
) -> Callable[[Mapping[str, object]], str]:
    """The template function: the API's parameters (PhoneNumbers, SignName, TemplateCode,
    TemplateParam, OutId ...) in, the whole signed query string out."""

    def signed(params: Mapping[str, object]) -> str:
        stamp = datetime.fromtimestamp(clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        values = {
            **ALIYUN_COMMON,
            "AccessKeyId": key_id,
            "Timestamp": stamp,
            "SignatureNonce": nonce(),
            **{k: str(v) for k, v in params.items()},
        }
        values["Signature"] = aliyun_signature(values, secret)
        return "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(values.items()))

    return signed
