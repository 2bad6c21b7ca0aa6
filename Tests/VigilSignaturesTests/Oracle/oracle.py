# SPDX-License-Identifier: Apache-2.0
# An independent RFC 9421 implementation for the interop tests (OracleTests.swift): PyPI's
# http-message-signatures, pinned by `make pytools`, signs and verifies requests built with
# requests. One JSON object in on stdin, one out on stdout; `sign` or `verify` as the argument.
import base64
import datetime
import json
import sys

import requests
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    MappingKeyResolver,
    algorithms,
)

ALGORITHMS = {"ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256, "ed25519": algorithms.ED25519}


class SHA512Digest(ContentDigest):
    algorithm = "sha-512"


def private_key(alg, raw):
    if alg == "ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(raw)
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def public_key(alg, raw):
    if alg == "ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def prepared_request(job):
    body = base64.b64decode(job["body"])
    request = requests.Request(job["method"], job["url"], data=body or None)
    prepared = request.prepare()
    for name, value in job["headers"]:
        prepared.headers[name] = value
    return prepared, body


def sign(job):
    prepared, body = prepared_request(job)
    signer = HTTPMessageSigner(
        signature_algorithm=ALGORITHMS[job["alg"]],
        key_resolver=MappingKeyResolver(
            public_keys={}, private_keys={job["keyid"]: private_key(job["alg"], bytes.fromhex(job["private_key"]))}
        ),
    )
    if job.get("digest") == "sha-512":
        signer.content_digest_class = SHA512Digest
    signer.sign(
        prepared,
        key_id=job["keyid"],
        created=datetime.datetime.fromtimestamp(job["created"], tz=datetime.timezone.utc),
        nonce=job["nonce"],
        label=job["label"],
        covered_component_ids=job["components"],
        body=body,
    )
    return {"headers": [[name, value] for name, value in prepared.headers.items()]}


def verify(job):
    prepared, body = prepared_request(job)
    verifier = HTTPMessageVerifier(
        signature_algorithm=ALGORITHMS[job["alg"]],
        key_resolver=MappingKeyResolver(
            public_keys={job["keyid"]: public_key(job["alg"], bytes.fromhex(job["public_key"]))}, private_keys={}
        ),
    )
    try:
        results = verifier.verify(
            prepared,
            max_age=datetime.timedelta(seconds=job["max_age"]),
            require_components=job["required"],
            body=body,
        )
    except Exception as error:  # the test wants the refusal's text, whatever its class
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}
    result = results[0]
    return {
        "ok": True,
        "label": result.label,
        "nonce": result.nonce,
        "covered": list(result.covered_components),
        "body_checked": result.body is not None,
    }


if __name__ == "__main__":
    command = {"sign": sign, "verify": verify}[sys.argv[1]]
    json.dump(command(json.load(sys.stdin)), sys.stdout)
