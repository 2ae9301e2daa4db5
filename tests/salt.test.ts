// masterFinger against Salt's own test vector, and what does and does not change a fingerprint.
import * as assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { masterFinger } from "../lib/salt";

// pub_key_data and EXPECTED_PEM_FINGER of saltstack/salt tests/pytests/unit/utils/test_crypt.py,
// which checks pem_finger on this key joined with "\n" and with "\r\n".
const saltTestKey = [
    "-----BEGIN PUBLIC KEY-----",
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAyc9ehbU4J2uzPZZCEw8K",
    "5URYcKSUh0h/c6m9PR2kRFbXkHcSnpkWX+LCuFKQ5iF2+0rVn9pO/94rL5zAQ6DU",
    "lucqk9EvamSk+TjHh3Ps/HdSxxVbkLk3nglVJrDgENxnAz+Kp+OSNfI2uhhzJiu1",
    "Dhn86Wb46eu7EFYeJ+7z9+29UXuCiMIUL5sRx3Xy37gpiD4Z+JVtoBNx1MKJ4MqB",
    "24ZXsvtEyrCmuLwhKCiQqvNx91CkyIL+sfMoHDSf7sLwl1CuCEgny7EV7bJpoNzN",
    "ZFKggcJCopfzLWDijF5A5OOvvvFrr/rYjW79LkGviWTzJrBPNgoD01zWIlzJfLdh",
    "ywIDAQAB",
    "-----END PUBLIC KEY-----",
];
const saltTestFinger = "9b:42:66:92:8a:d1:b9:27:42:e0:6d:f3:12:c9:74:74:b0:e0:0e:42:83:87:62:ad:95:49:9d:6f:8e:d0:ed:35";

describe("masterFinger", () => {
    it("gives Salt's own unit-test fingerprint, with LF or CRLF line ends", () => {
        assert.equal(masterFinger(saltTestKey.join("\n")), saltTestFinger);
        assert.equal(masterFinger(saltTestKey.join("\r\n")), saltTestFinger);
    });

    it("ignores trailing newlines and blank or whitespace-only lines", () => {
        const variants = [
            `${saltTestKey.join("\n")}\n`,
            `${saltTestKey.join("\r\n")}\r\n\r\n`,
            `\n\n${saltTestKey.join("\n")}\n\n\n`,
            [...saltTestKey.slice(0, 4), "", " \t", ...saltTestKey.slice(4)].join("\n"),
        ];
        for (const pem of variants) assert.equal(masterFinger(pem), saltTestFinger, JSON.stringify(pem));
    });

    it("changes with the line wrapping: it hashes the text, not the key", () => {
        const oneLine = [saltTestKey[0], saltTestKey.slice(1, -1).join(""), saltTestKey[saltTestKey.length - 1]].join("\n");
        assert.notEqual(masterFinger(oneLine), saltTestFinger);
    });

    it("gives SPKI and PKCS#1 forms of one key different fingerprints", () => {
        const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const spki = publicKey.export({ type: "spki", format: "pem" }).toString();
        const pkcs1 = publicKey.export({ type: "pkcs1", format: "pem" }).toString();
        assert.match(spki, /^-----BEGIN PUBLIC KEY-----\n/);
        assert.match(pkcs1, /^-----BEGIN RSA PUBLIC KEY-----\n/);
        for (const finger of [masterFinger(spki), masterFinger(pkcs1)]) assert.match(finger, /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
        assert.notEqual(masterFinger(spki), masterFinger(pkcs1));
    });

    it("refuses text that is not a PEM block", () => {
        for (const text of ["123abc", "", saltTestKey.slice(0, -1).join("\n"), saltTestKey.slice(1).join("\n")]) {
            assert.throws(() => masterFinger(text), /expected a PEM public key/, JSON.stringify(text));
        }
    });
});
