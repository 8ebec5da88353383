"""Request signatures of the cloud SMS APIs, for the SMS request template: Aliyun's RPC
signature (SendSms, signature version 1.0, HMAC-SHA1), as `{{ aliyun_query(params) }}`, and
Tencent Cloud's TC3-HMAC-SHA256 `Authorization` header, as `{{ tencent_authorization() }}`
with `{{ timestamp }}` in the X-TC-Timestamp header (the body is signed as sent).

Aliyun signs the query itself: every parameter, the common ones included (AccessKeyId,
Timestamp, SignatureNonce...), percent-encoded (RFC 3986, space as %20), sorted by name,
joined with `&`; the string to sign is `GET&%2F&` + that string encoded once more; the
signature is base64(HMAC-SHA1(AccessKeySecret + "&", string to sign)), as Aliyun's SDKs for
the 2017-05-25 SMS API compute it (no vendor test vector was found to check it against: the
tests recompute it independently). TC3 as Tencent Cloud's API 3.0 signature document and
its SDKs describe it. The key id and secret (AccessKey; SecretId and SecretKey) come from the
variables `access_key_env` and `access_secret_env` name.
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


def tc3_authorization(
    secret_id: str, secret_key: str, host: str, timestamp: int, body: str, content_type: str
) -> str:
    """Tencent Cloud's TC3-HMAC-SHA256 `Authorization` header for a POST of `body` to `host`
    (API 3.0: the canonical request over content-type and host, the key derived from the
    date, the service and "tc3_request"); the service is the host's first label (`sms`)."""
    service = host.split(".", 1)[0]
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(body.encode()).hexdigest(),
        ]
    )
    scope = f"{day}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = hmac.new(f"TC3{secret_key}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    credential = f"Credential={secret_id}/{scope}"
    return f"TC3-HMAC-SHA256 {credential}, SignedHeaders=content-type;host, Signature={signature}"
