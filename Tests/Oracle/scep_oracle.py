#!/usr/bin/python3
"""scep_oracle: an independent SCEP (RFC 8894) server for testing scep-agent.

It shares no code with the agent: ASN.1 structures come from asn1crypto, every cryptographic
primitive from pyca/cryptography, the rest from Python's standard library. Run it with Debian's
/usr/bin/python3 (python3-asn1crypto 1.5.1, python3-cryptography 38.0.4).

  scep_oracle.py --port P --state DIR [options]          HTTP on 127.0.0.1:P (prints "ready")
  scep_oracle.py init --state DIR [--bag B]                create the CA(s), print the pin
  scep_oracle.py reply --state DIR --request REQ.der --out REPLY.der [options]
  scep_oracle.py request --state DIR --key K.pem --cert C.pem --csr CSR --type T --out REQ.der
  scep_oracle.py show --in MESSAGE.der                     verify a pkiMessage, print its attributes

`request` is a minimal test client (it builds PKCSReq/RenewalReq/CertPoll, e.g. with EC keys,
which the agent cannot make); `show` checks a request or a reply with the same parser the
server uses on requests. README.md describes each option and what the server sends.
"""
import argparse
import base64
import collections
import datetime
import hashlib
import http.server
import json
import os
import secrets
import sys
import threading
import urllib.parse

from asn1crypto import cms, core, csr as acsr, keys, pem, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, padding as sympadding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.keywrap import aes_key_wrap


class BadRequest(Exception):
    """The request is malformed or fails a check: HTTP 400 with this one-line reason."""


# --------------------------------------------------------------------------------------------
# ASN.1 vocabulary asn1crypto does not know: SCEP's attributes, the ECDH and PWRI schemes.

def _register(oid_class, dotted, name):
    """Teach an asn1crypto OID class a name (its reverse map may already have been built)."""
    oid_class._map[dotted] = name
    if oid_class._reverse_map is not None:
        oid_class._reverse_map[name] = dotted


SCEP_ATTRIBUTES = {  # RFC 8894 section 3.2.1 and failInfoText (RFC 8894 section 3.2.1.4.3)
    '2.16.840.1.113733.1.9.2': ('message_type', core.PrintableString),
    '2.16.840.1.113733.1.9.3': ('pki_status', core.PrintableString),
    '2.16.840.1.113733.1.9.4': ('fail_info', core.PrintableString),
    '2.16.840.1.113733.1.9.5': ('sender_nonce', core.OctetString),
    '2.16.840.1.113733.1.9.6': ('recipient_nonce', core.OctetString),
    '2.16.840.1.113733.1.9.7': ('transaction_id', core.PrintableString),
    '1.3.6.1.5.5.7.24.1': ('fail_info_text', core.UTF8String),
}
for _dotted, (_name, _spec) in SCEP_ATTRIBUTES.items():
    _register(cms.CMSAttributeType, _dotted, _name)
    cms.CMSAttribute._oid_specs[_name] = type('SetOf' + _spec.__name__, (core.SetOf,), {'_child_spec': _spec})

# RFC 5753 ephemeral-static ECDH schemes: (name, X9.63 KDF hash); their parameter is the key wrap.
ECDH_SCHEMES = {'1.3.132.1.11.1': ('dh_std_sha256kdf', 'sha256'), '1.3.132.1.11.2': ('dh_std_sha384kdf', 'sha384'),
                '1.3.132.1.11.3': ('dh_std_sha512kdf', 'sha512')}
for _dotted, (_name, _) in ECDH_SCHEMES.items():
    _register(cms.KeyEncryptionAlgorithmId, _dotted, _name)
    cms.KeyEncryptionAlgorithm._oid_specs[_name] = cms.KeyEncryptionAlgorithm
_register(cms.KeyEncryptionAlgorithmId, '1.2.840.113549.1.9.16.3.9', 'pwri_kek')  # RFC 3211
cms.KeyEncryptionAlgorithm._oid_specs['pwri_kek'] = cms.EncryptionAlgorithm


class EccCmsSharedInfo(core.Sequence):
    """ECC-CMS-SharedInfo (RFC 5753 section 7.2): the X9.63 KDF's shared info."""
    _fields = [('key_info', cms.KeyEncryptionAlgorithm),
               ('entity_u_info', core.OctetString, {'explicit': 0, 'optional': True}),
               ('supp_pub_info', core.OctetString, {'explicit': 2})]


class IssuerAndSubject(core.Sequence):
    """The content of CertPoll (RFC 8894 section 3.3.3)."""
    _fields = [('issuer', x509.Name), ('subject', x509.Name)]


HASHES = {'sha1': hashes.SHA1, 'sha256': hashes.SHA256, 'sha384': hashes.SHA384, 'sha512': hashes.SHA512}
# asn1crypto signature algorithm name -> (key family, hash it names or None for rsaEncryption)
SIGNATURE_ALGORITHMS = {'rsassa_pkcs1v15': ('rsa', None), 'sha1_rsa': ('rsa', 'sha1'), 'sha256_rsa': ('rsa', 'sha256'),
                        'sha384_rsa': ('rsa', 'sha384'), 'sha512_rsa': ('rsa', 'sha512'),
                        'sha256_ecdsa': ('ec', 'sha256'), 'sha384_ecdsa': ('ec', 'sha384')}
SIGNATURE_OIDS = {'rsaEncryption': 'rsassa_pkcs1v15', 'sha1WithRSAEncryption': 'sha1_rsa',
                  'sha256WithRSAEncryption': 'sha256_rsa', 'sha512WithRSAEncryption': 'sha512_rsa'}
# --reply-cipher / content cipher: option -> (asn1crypto name, key bytes, cryptography cipher)
CIPHERS = {'aes128': ('aes128_cbc', 16, algorithms.AES), 'aes192': ('aes192_cbc', 24, algorithms.AES),
           'aes256': ('aes256_cbc', 32, algorithms.AES), 'des3': ('tripledes_3key', 24, algorithms.TripleDES),
           'des': ('des', 8, algorithms.TripleDES)}  # an 8-byte TripleDES key is K|K|K, i.e. single DES
REQUEST_CIPHERS = {'aes128_cbc', 'aes192_cbc', 'aes256_cbc', 'tripledes_3key'}
# Curve -> (ECDH scheme OID, key wrap, KEK bytes) for KeyAgreeRecipientInfo
KARI_PARAMETERS = {'secp256r1': ('1.3.132.1.11.1', 'aes128_wrap', 16), 'secp384r1': ('1.3.132.1.11.2', 'aes256_wrap', 32),
                   'secp521r1': ('1.3.132.1.11.3', 'aes256_wrap', 32)}
MESSAGE_TYPES = {'19': 'PKCSReq', '17': 'RenewalReq', '20': 'CertPoll', '21': 'GetCert', '22': 'GetCRL', '3': 'CertRep'}
SUCCESS, FAILURE, PENDING = '0', '2', '3'
BAD_ALG, BAD_REQUEST, BAD_CERT_ID = 0, 2, 4
CRA_EKU = '1.3.6.1.4.1.311.20.2.1'  # Microsoft Certificate Request Agent, as on NDES's RA certificates
BAGS = ('ca', 'ca-ra', 'intermediate', 'device-ra')
DEFAULT_CAPS = 'POSTPKIOperation,Renewal,SHA-256,AES,SCEPStandard'


# --------------------------------------------------------------------------------------------
# Small helpers

def load(spec, der, what):
    """Parses DER strictly (no trailing bytes) and completely (asn1crypto parses lazily; .native
    walks everything, so a malformed field fails here and not halfway through the reply)."""
    try:
        value = spec.load(der, strict=True)
        value.native
        return value
    except Exception as error:  # asn1crypto raises ValueError, TypeError, KeyError...
        raise BadRequest(f'malformed {what}: {error}'.splitlines()[0]) from None


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def digest(name, data):
    h = hashes.Hash(HASHES[name]())
    h.update(data)
    return h.finalize()


def public_key(spki):
    """A cryptography public key from an asn1crypto PublicKeyInfo."""
    return serialization.load_der_public_key(spki.dump())


def spki_of(key):
    return keys.PublicKeyInfo.load(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def describe(cert):
    """A certificate's subject as CN=...,O=... for the log."""
    short = {'common_name': 'CN', 'organization_name': 'O', 'organizational_unit_name': 'OU', 'country_name': 'C'}
    return ','.join(f'{short.get(k, k)}={v}' for k, v in cert.subject.native.items())


def des_parity(key):
    """Sets odd parity on each byte of a DES key, as DES keys are defined."""
    return bytes((b & 0xFE) | ((bin(b >> 1).count('1') + 1) % 2) for b in key)


def issuer_and_serial(cert):
    return {'issuer': cert.issuer, 'serial_number': cert.serial_number}


def matches(rid, cert):
    """Whether a SignerIdentifier / RecipientIdentifier (issuerAndSerial or SKI) names cert."""
    if rid.name == 'issuer_and_serial_number':
        return rid.chosen['issuer'] == cert.issuer and rid.chosen['serial_number'].native == cert.serial_number
    return cert.key_identifier is not None and rid.chosen.native == cert.key_identifier


def verify_signature(key, family, hash_name, signature, data, what):
    """RSA PKCS#1 v1.5 or ECDSA over data; BadRequest when it does not verify."""
    try:
        if family == 'rsa' and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), HASHES[hash_name]())
        elif family == 'ec' and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(HASHES[hash_name]()))
        else:
            raise BadRequest(f'{what}: a {family} signature but a {type(key).__name__}')
    except InvalidSignature:
        raise BadRequest(f'{what}: the signature does not verify') from None


def sign(key, hash_name, data):
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), HASHES[hash_name]())
    return key.sign(data, ec.ECDSA(HASHES[hash_name]()))


# --------------------------------------------------------------------------------------------
# Certificates: one builder for the CA, the RAs, the intermediate and the issued certificates

def build_cert(subject, spki, issuer_name, issuer_key, issuer_ski, lifetime, usage, ca=None, eku=None):
    """An X.509 v3 certificate signed with sha256WithRSAEncryption, notBefore 60 s ago.
    usage: keyUsage names (critical); ca: None for no basicConstraints, else its cA (critical)."""
    moment = now()
    extensions = [{'extn_id': 'key_usage', 'critical': True, 'extn_value': set(usage)}]
    if ca is not None:
        extensions.append({'extn_id': 'basic_constraints', 'critical': True, 'extn_value': {'ca': ca}})
    if eku:
        extensions.append({'extn_id': 'extended_key_usage', 'critical': False, 'extn_value': eku})
    extensions.append({'extn_id': 'key_identifier', 'critical': False, 'extn_value': spki.sha1})
    extensions.append({'extn_id': 'authority_key_identifier', 'critical': False,
                       'extn_value': {'key_identifier': issuer_ski or spki.sha1}})
    tbs = x509.TbsCertificate({
        'version': 'v3', 'serial_number': secrets.randbits(127) | 1 << 120,
        'signature': {'algorithm': 'sha256_rsa'}, 'issuer': issuer_name,
        'validity': {'not_before': x509.Time(name='utc_time', value=moment - datetime.timedelta(seconds=60)),
                     'not_after': x509.Time(name='utc_time', value=moment + datetime.timedelta(seconds=lifetime))},
        'subject': subject, 'subject_public_key_info': spki, 'extensions': extensions})
    return x509.Certificate({'tbs_certificate': tbs, 'signature_algorithm': {'algorithm': 'sha256_rsa'},
                             'signature_value': sign(issuer_key, 'sha256', tbs.dump())})


def read_cert(path):
    with open(path, 'rb') as f:
        data = f.read()
    if pem.detect(data):
        data = pem.unarmor(data)[2]
    return x509.Certificate.load(data)


def write_cert(path, cert):
    with open(path, 'wb') as f:
        f.write(pem.armor('CERTIFICATE', cert.dump()))


def read_key(path):
    with open(path, 'rb') as f:
        return serialization.load_pem_private_key(f.read(), None)


Identity = collections.namedtuple('Identity', 'cert key')  # a certificate and its private key


class Authority:
    """The CA state in DIR: the root (ca.pem, ca.key), the certificates of the chosen --bag, the
    issued certificates (issued/SERIAL.pem), the transactions (tx/) and every message (messages/)."""

    def __init__(self, state, bag):
        self.state, self.bag_mode = state, bag
        for sub in ('issued', 'tx', 'messages'):
            os.makedirs(os.path.join(state, sub), exist_ok=True)
        # The root signs and decrypts itself only in the `ca` mode; elsewhere it has just CA usages.
        root_usage = {'key_cert_sign', 'crl_sign'} | ({'digital_signature', 'key_encipherment'} if bag == 'ca' else set())
        self.root = self._identity('ca', 'SCEP Oracle Root CA', None, root_usage, ca=True)
        if bag == 'ca':
            self.issuer = self.signer = self.root
            self.decrypters, self.chain, self.bag = [self.root], [self.root], [self.root]
        elif bag == 'ca-ra':  # NDES: one RA to encrypt to, one RA that signs
            enc = self._identity('ra-enc', 'SCEP Oracle RA (encryption)', self.root, {'key_encipherment'}, eku=[CRA_EKU])
            sig = self._identity('ra-sign', 'SCEP Oracle RA (signing)', self.root, {'digital_signature'}, eku=[CRA_EKU])
            self.issuer, self.signer, self.decrypters = self.root, sig, [enc]
            self.chain, self.bag = [self.root], [self.root, enc, sig]
        elif bag == 'intermediate':
            inter = self._identity('intermediate', 'SCEP Oracle Issuing CA', self.root,
                                   {'key_cert_sign', 'crl_sign', 'digital_signature', 'key_encipherment'}, ca=True)
            self.issuer = self.signer = inter
            self.decrypters, self.chain, self.bag = [inter], [inter, self.root], [self.root, inter]
        else:  # device-ra: an "RA" issued by a device (end-entity) key; a correct client refuses it
            device = self._identity('device', 'dev-9999 (device)', self.root, {'digital_signature', 'key_encipherment'}, ca=False)
            fake = self._identity('device-ra', 'SCEP Oracle RA (device-issued)', device,
                                  {'digital_signature', 'key_encipherment'}, ca=False)
            self.issuer, self.signer = self.root, fake
            self.decrypters, self.chain, self.bag = [self.root, device, fake], [self.root], [self.root, device, fake]
        self.bag = [i.cert for i in self.bag]  # GetCACert
        self.chain = [i.cert for i in self.chain]  # sent with each issued certificate
        self.pin = hashlib.sha256(self.root.cert.dump()).hexdigest()
        with open(os.path.join(state, 'ca.sha256'), 'w') as f:
            f.write(self.pin)

    def _identity(self, name, common_name, issuer, usage, ca=None, eku=None):
        """Loads DIR/name.pem and name.key, or makes them: RSA-2048, valid 30 days."""
        cert_path, key_path = (os.path.join(self.state, name + ext) for ext in ('.pem', '.key'))
        if os.path.exists(cert_path) and os.path.exists(key_path):
            return Identity(read_cert(cert_path), read_key(key_path))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name.build({'common_name': common_name, 'organization_name': 'scep-oracle'})
        signer = issuer or Identity(None, key)
        cert = build_cert(subject, spki_of(key), issuer.cert.subject if issuer else subject, signer.key,
                          issuer.cert.key_identifier if issuer else None, 30 * 86400, usage, ca, eku)
        with open(key_path, 'wb') as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        write_cert(cert_path, cert)
        return Identity(cert, key)

    def ca_cert_response(self):
        """GetCACert: (content type, body)."""
        if self.bag_mode == 'ca':
            return 'application/x-x509-ca-cert', self.root.cert.dump()
        return 'application/x-x509-ca-ra-cert', degenerate(self.bag)

    def issue(self, csr, lifetime):
        """A certificate for the CSR's subject and key, signed by the issuing CA; kept in issued/."""
        key_usage = {'digital_signature', 'key_encipherment'}
        if csr.spki.algorithm == 'ec':  # RFC 8813: keyEncipherment is meaningless for EC keys
            key_usage = {'digital_signature', 'key_agreement'}
        cert = build_cert(x509.Name.load(csr.subject.dump()), keys.PublicKeyInfo.load(csr.spki.dump()),
                          self.issuer.cert.subject, self.issuer.key, self.issuer.cert.key_identifier,
                          lifetime, key_usage, ca=False)
        write_cert(os.path.join(self.state, 'issued', '%x.pem' % cert.serial_number), cert)
        return cert

    def renewal_problem(self, signer):
        """Why a RenewalReq signer is not acceptable: it must be a certificate issued here, unexpired."""
        path = os.path.join(self.state, 'issued', '%x.pem' % signer.serial_number)
        if not os.path.exists(path) or read_cert(path).dump() != signer.dump():
            return f'RenewalReq signed by a certificate this CA did not issue ({describe(signer)}, serial {signer.serial_number:x})'
        if signer['tbs_certificate']['validity']['not_after'].native < now():
            return 'RenewalReq signed by an expired certificate'
        return None

    def transaction(self, transaction_id, csr_der=None):
        """Counts the messages of a transaction and keeps its request (CertPoll needs it)."""
        path = os.path.join(self.state, 'tx', hashlib.sha256(transaction_id.encode()).hexdigest()[:32] + '.json')
        record = {'transaction_id': transaction_id, 'count': 0, 'csr': None}
        if os.path.exists(path):
            with open(path) as f:
                record = json.load(f)
        record['count'] += 1
        if csr_der is not None:
            record['csr'] = base64.b64encode(csr_der).decode()
        with open(path, 'w') as f:
            json.dump(record, f)
        return record

    def save_message(self, kind, request, reply):
        """messages/NNNN-KIND.req.der and .rep.der, for openssl to look at afterwards."""
        base = os.path.join(self.state, 'messages', '%04d-%s' % (len(os.listdir(os.path.join(self.state, 'messages'))) // 2 + 1, kind))
        for ext, data in (('.req.der', request), ('.rep.der', reply)):
            with open(base + ext, 'wb') as f:
                f.write(data or b'')


# --------------------------------------------------------------------------------------------
# Parsing a pkiMessage: SignedData, its SignerInfo, the EnvelopedData inside, the CSR

# A verified pkiMessage: signer certificate, signed attributes {name: native value}, eContent or None
PkiMessage = collections.namedtuple('PkiMessage', 'signer attributes econtent digest_name')


def read_signed_attributes(signer_info):
    """The signed attributes as {name: native value}; each must be single-valued and unique."""
    found = {}
    for attribute in signer_info['signed_attrs']:
        name, values = attribute['type'].native, attribute['values']
        if len(values) != 1:
            raise BadRequest(f'signed attribute {name} has {len(values)} values, not 1')
        if name in found:
            raise BadRequest(f'signed attribute {name} appears twice')
        found[name] = values[0].native
    return found


def verify_signer_info(signer_info, certificates, econtent, allowed_digests):
    """Checks one SignerInfo over its signed attributes; returns (signer cert, attributes, digest)."""
    signer = next((c for c in certificates if matches(signer_info['sid'], c)), None)
    if signer is None:
        raise BadRequest('the signer certificate is not in the SignedData certificates')
    want_version = 'v1' if signer_info['sid'].name == 'issuer_and_serial_number' else 'v3'
    if signer_info['version'].native != want_version:
        raise BadRequest(f'SignerInfo version {signer_info["version"].native} with a {signer_info["sid"].name} sid')
    digest_name = signer_info['digest_algorithm']['algorithm'].native
    if digest_name not in allowed_digests:
        raise BadRequest(f'digest algorithm {digest_name} not accepted')
    algorithm = signer_info['signature_algorithm']['algorithm'].native
    if algorithm not in SIGNATURE_ALGORITHMS:
        raise BadRequest(f'signature algorithm {algorithm} not supported')
    family, named_hash = SIGNATURE_ALGORITHMS[algorithm]
    if named_hash not in (None, digest_name):
        raise BadRequest(f'signature algorithm {algorithm} with digest algorithm {digest_name}')
    if isinstance(signer_info['signed_attrs'], core.Void):
        raise BadRequest('the SignerInfo has no signed attributes')
    # The signature covers the DER of the attributes with the SET OF tag (RFC 5652 section 5.4),
    # exactly as received; a verifier that re-encodes (openssl does) needs them in DER already.
    signed = b'\x31' + signer_info['signed_attrs'].dump()[1:]
    if cms.CMSAttributes.load(signed).dump(force=True) != signed:
        raise BadRequest('the signed attributes are not DER-encoded (unsorted SET OF?)')
    verify_signature(public_key(signer.public_key), family, digest_name, signer_info['signature'].native,
                     signed, 'SignerInfo')
    attributes = read_signed_attributes(signer_info)
    if attributes.get('content_type') != 'data':
        raise BadRequest(f'contentType attribute is {attributes.get("content_type")}, not id-data')
    if attributes.get('message_digest') != digest(digest_name, econtent or b''):
        raise BadRequest('the messageDigest attribute does not match the content')
    return signer, attributes, digest_name


def parse_pki_message(der, need_content, allowed_digests=('sha256', 'sha384', 'sha512')):
    """ContentInfo/SignedData with one verified SignerInfo and the SCEP attributes."""
    info = load(cms.ContentInfo, der, 'pkiMessage')
    if info['content_type'].native != 'signed_data':
        raise BadRequest(f'pkiMessage content type is {info["content_type"].native}, not signedData')
    signed_data = info['content']
    encap = signed_data['encap_content_info']
    if encap['content_type'].native != 'data':
        raise BadRequest(f'eContentType is {encap["content_type"].native}, not id-data')
    econtent = None if isinstance(encap['content'], core.Void) else encap['content'].native
    if need_content and not econtent:
        raise BadRequest('the pkiMessage has no eContent (pkcsPKIEnvelope)')
    if len(signed_data['signer_infos']) != 1:
        raise BadRequest(f'{len(signed_data["signer_infos"])} SignerInfos, not 1')
    certificates = [] if isinstance(signed_data['certificates'], core.Void) else \
        [c.chosen for c in signed_data['certificates'] if c.name == 'certificate']
    signer_info = signed_data['signer_infos'][0]
    signer, attributes, digest_name = verify_signer_info(signer_info, certificates, econtent, allowed_digests)
    if digest_name not in [a['algorithm'].native for a in signed_data['digest_algorithms']]:
        raise BadRequest(f'SignedData digestAlgorithms does not list {digest_name}')
    want_version = 'v3' if signer_info['version'].native == 'v3' else 'v1'
    if signed_data['version'].native != want_version:
        raise BadRequest(f'SignedData version {signed_data["version"].native}, RFC 5652 says {want_version}')
    for name in ('transaction_id', 'message_type', 'sender_nonce'):
        if not attributes.get(name):
            raise BadRequest(f'the {name} attribute is missing or empty')
    return PkiMessage(signer, attributes, econtent, digest_name)


def decrypt_content(encrypted_content_info, cek, allowed):
    """CBC decryption and PKCS#7 unpadding of an EncryptedContentInfo."""
    algorithm = encrypted_content_info['content_encryption_algorithm']
    name = algorithm['algorithm'].native
    if name not in allowed:
        raise BadRequest(f'content cipher {name} not accepted')
    _, key_length, cipher = next(v for v in CIPHERS.values() if v[0] == name)
    iv = algorithm['parameters'].native
    if len(cek) != key_length or not isinstance(iv, bytes) or len(iv) != cipher.block_size // 8:
        raise BadRequest(f'{name}: a {len(cek)}-byte key or a bad IV')
    ciphertext = encrypted_content_info['encrypted_content'].native
    if not ciphertext:
        raise BadRequest('the EnvelopedData has no encryptedContent')
    try:
        decryptor = Cipher(cipher(cek), modes.CBC(iv)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = sympadding.PKCS7(cipher.block_size).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as error:
        raise BadRequest(f'{name} decryption failed: {error}') from None


def open_envelope(der, authority):
    """The pkcsPKIEnvelope of a request: KeyTransRecipientInfo (RSA PKCS#1 v1.5) to one of the
    authority's decryption certificates. Returns (plaintext, the certificate it was encrypted to)."""
    info = load(cms.ContentInfo, der, 'pkcsPKIEnvelope')
    if info['content_type'].native != 'enveloped_data':
        raise BadRequest(f'pkcsPKIEnvelope content type is {info["content_type"].native}, not envelopedData')
    envelope = info['content']
    if envelope['encrypted_content_info']['content_type'].native != 'data':
        raise BadRequest('the enveloped content type is not id-data')
    known = [authority.root, authority.signer] + authority.decrypters
    seen = []
    for recipient in envelope['recipient_infos']:
        if recipient.name != 'ktri':
            seen.append(recipient.name)
            continue
        ktri = recipient.chosen
        identity = next((i for i in known if matches(ktri['rid'], i.cert)), None)
        if identity is None:
            seen.append('a certificate this server does not know')
            continue
        if identity not in authority.decrypters:
            raise BadRequest(f'the request is encrypted to "{describe(identity.cert)}", not to "{describe(authority.decrypters[0].cert)}"')
        if ktri['key_encryption_algorithm']['algorithm'].native != 'rsaes_pkcs1v15':
            raise BadRequest(f'key transport {ktri["key_encryption_algorithm"]["algorithm"].native}, not rsaEncryption')
        want_version = 'v0' if ktri['rid'].name == 'issuer_and_serial_number' else 'v2'
        if ktri['version'].native != want_version:
            raise BadRequest(f'KeyTransRecipientInfo version {ktri["version"].native} with a {ktri["rid"].name} rid')
        try:
            cek = identity.key.decrypt(ktri['encrypted_key'].native, padding.PKCS1v15())
        except ValueError:
            raise BadRequest('the content-encryption key does not decrypt (RSA PKCS#1 v1.5)') from None
        return decrypt_content(envelope['encrypted_content_info'], cek, REQUEST_CIPHERS), identity.cert
    raise BadRequest('no KeyTransRecipientInfo for this server; recipients: ' + ', '.join(seen))


Csr = collections.namedtuple('Csr', 'der subject spki challenge')  # a verified PKCS#10 request


def parse_csr(der):
    request = load(acsr.CertificationRequest, der, 'PKCS#10 request')
    info = request['certification_request_info']
    algorithm = request['signature_algorithm']['algorithm'].native
    family, hash_name = SIGNATURE_ALGORITHMS.get(algorithm, (None, None))
    if hash_name not in ('sha256', 'sha384', 'sha512'):
        raise BadRequest(f'CSR signature algorithm {algorithm} not accepted')
    try:
        key = public_key(info['subject_pk_info'])
    except ValueError as error:
        raise BadRequest(f'CSR public key: {error}') from None
    verify_signature(key, family, hash_name, request['signature'].native, info.dump(), 'CSR')
    challenge = None
    for attribute in info['attributes']:
        if attribute['type'].native == 'challenge_password':
            if len(attribute['values']) != 1:
                raise BadRequest('challengePassword must have one value')
            challenge = attribute['values'][0].native
    return Csr(der, info['subject'], info['subject_pk_info'], challenge)


# --------------------------------------------------------------------------------------------
# Building CMS: degenerate SignedData, EnvelopedData (ktri, kari, pwri), signed pkiMessage

def degenerate(certs):
    """A certs-only SignedData (no signers, no content) in a ContentInfo."""
    signed_data = cms.SignedData({
        'version': 'v1', 'digest_algorithms': [], 'encap_content_info': {'content_type': 'data'},
        'certificates': [cms.CertificateChoices(name='certificate', value=c) for c in certs], 'signer_infos': []})
    return cms.ContentInfo({'content_type': 'signed_data', 'content': signed_data}).dump()


def encrypt_content(data, cipher_name):
    """CBC with PKCS#7 padding under a fresh key: (EncryptionAlgorithm, key, ciphertext)."""
    name, key_length, cipher = CIPHERS[cipher_name]
    key = os.urandom(key_length)
    if cipher is algorithms.TripleDES:
        key = des_parity(key)
    iv = os.urandom(cipher.block_size // 8)
    padder = sympadding.PKCS7(cipher.block_size).padder()
    encryptor = Cipher(cipher(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()
    return {'algorithm': name, 'parameters': iv}, key, ciphertext


def ktri(cek, cert):
    """KeyTransRecipientInfo: the key under the recipient's RSA key, PKCS#1 v1.5."""
    encrypted = public_key(cert.public_key).encrypt(cek, padding.PKCS1v15())
    return cms.RecipientInfo(name='ktri', value={
        'version': 'v0', 'rid': {'issuer_and_serial_number': issuer_and_serial(cert)},
        'key_encryption_algorithm': {'algorithm': 'rsaes_pkcs1v15'}, 'encrypted_key': encrypted})


def kari(cek, cert, ukm=None):
    """KeyAgreeRecipientInfo (RFC 5652 6.2.2, RFC 5753): ephemeral-static ECDH on the recipient's
    curve, X9.63 KDF over ECC-CMS-SharedInfo, AES key wrap of the content key."""
    recipient = public_key(cert.public_key)
    if recipient.curve.name not in KARI_PARAMETERS or len(cek) < 16:
        raise ValueError(f'no KeyAgreeRecipientInfo for {recipient.curve.name} with a {len(cek)}-byte content key')
    scheme, wrap, kek_length = KARI_PARAMETERS[recipient.curve.name]
    ephemeral = ec.generate_private_key(recipient.curve)
    shared_secret = ephemeral.exchange(ec.ECDH(), recipient)
    shared_info = EccCmsSharedInfo({'key_info': {'algorithm': wrap}, 'entity_u_info': ukm,
                                    'supp_pub_info': (kek_length * 8).to_bytes(4, 'big')})
    kek = X963KDF(HASHES[ECDH_SCHEMES[scheme][1]](), kek_length, shared_info.dump()).derive(shared_secret)
    return cms.RecipientInfo(name='kari', value={
        'version': 'v3', 'originator': cms.OriginatorIdentifierOrKey(name='originator_key', value=spki_of(ephemeral)),
        'ukm': ukm, 'key_encryption_algorithm': {'algorithm': scheme, 'parameters': {'algorithm': wrap}},
        'recipient_encrypted_keys': [{'rid': {'issuer_and_serial_number': issuer_and_serial(cert)},
                                      'encrypted_key': aes_key_wrap(kek, cek)}]})


def pwri(cek, password):
    """PasswordRecipientInfo (RFC 3211): PBKDF2-HMAC-SHA256 KEK, id-alg-PWRI-KEK with AES-128-CBC."""
    salt, iterations, iv = os.urandom(16), 2048, os.urandom(16)
    kek = PBKDF2HMAC(hashes.SHA256(), 16, salt, iterations).derive(password.encode())
    # RFC 3211 2.3.1: length byte, check bytes (complement of the key's first 3), key, random
    # padding to at least two blocks; CBC-encrypted twice, the second pass chained on the first.
    block = 16
    length = max(2 * block, -(-(len(cek) + 4) // block) * block)
    formatted = bytes([len(cek)]) + bytes(b ^ 0xFF for b in cek[:3]) + cek
    formatted += os.urandom(length - len(formatted))
    encryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    first = encryptor.update(formatted)
    wrapped = encryptor.update(first) + encryptor.finalize()
    return cms.RecipientInfo(name='pwri', value={
        'version': 'v0',
        'key_derivation_algorithm': {'algorithm': 'pbkdf2', 'parameters': {
            'salt': {'specified': salt}, 'iteration_count': iterations, 'key_length': 16,
            'prf': {'algorithm': 'sha256', 'parameters': core.Null()}}},
        'key_encryption_algorithm': {'algorithm': 'pwri_kek', 'parameters': {'algorithm': 'aes128_cbc', 'parameters': iv}},
        'encrypted_key': wrapped})


def envelope(content, cert, cipher_name, ec_mode='kari', password=None, ukm=None):
    """pkcsPKIEnvelope: content encrypted to cert (RSA: ktri; EC: kari or pwri)."""
    algorithm, cek, ciphertext = encrypt_content(content, cipher_name)
    if cert.public_key.algorithm == 'rsa':
        recipient, version = ktri(cek, cert), 'v0'
    elif ec_mode == 'kari':
        recipient, version = kari(cek, cert, ukm), 'v2'
    else:
        recipient, version = pwri(cek, password), 'v3'
    enveloped = cms.EnvelopedData({
        'version': version, 'recipient_infos': [recipient],
        'encrypted_content_info': {'content_type': 'data', 'content_encryption_algorithm': algorithm,
                                   'encrypted_content': ciphertext}})
    return cms.ContentInfo({'content_type': 'enveloped_data', 'content': enveloped}).dump()


def signed_message(identity, attributes, econtent, digest_name, signature_oid, corrupt=False):
    """pkiMessage: SignedData over econtent (None: no eContent) with one SignerInfo whose signed
    attributes are contentType, messageDigest, signingTime and the given SCEP attributes."""
    signed_attrs = cms.CMSAttributes(
        [{'type': 'content_type', 'values': ['data']},
         {'type': 'message_digest', 'values': [digest(digest_name, econtent or b'')]},
         {'type': 'signing_time', 'values': [cms.Time(name='utc_time', value=now())]}]
        + [{'type': name, 'values': [value]} for name, value in attributes])
    signer_info = cms.SignerInfo({
        'version': 'v1', 'sid': {'issuer_and_serial_number': issuer_and_serial(identity.cert)},
        'digest_algorithm': {'algorithm': digest_name}, 'signed_attrs': signed_attrs,
        'signature_algorithm': {'algorithm': signature_oid}, 'signature': b''})
    signature = sign(identity.key, digest_name, b'\x31' + signer_info['signed_attrs'].dump()[1:])
    if corrupt:  # --fault bad-signature
        signature = signature[:10] + bytes([signature[10] ^ 0x01]) + signature[11:]
    signer_info['signature'] = signature
    encap = {'content_type': 'data'}
    if econtent is not None:
        encap['content'] = econtent
    signed_data = cms.SignedData({
        'version': 'v1', 'digest_algorithms': [{'algorithm': digest_name}], 'encap_content_info': encap,
        'certificates': [cms.CertificateChoices(name='certificate', value=identity.cert)],
        'signer_infos': [signer_info]})
    return cms.ContentInfo({'content_type': 'signed_data', 'content': signed_data}).dump()


# --------------------------------------------------------------------------------------------
# The server's decisions: one request in, one CertRep out

def cert_rep(authority, options, request, status, fail_info=None, fail_text=None, content=None):
    """CertRep signed by the authority's signer. SUCCESS carries content (a pkcsPKIEnvelope);
    PENDING and FAILURE carry no eContent (RFC 8894 3.3.2) unless --pending-with-content."""
    transaction_id = request.attributes['transaction_id']
    recipient_nonce = request.attributes['sender_nonce']
    if options.fault == 'wrong-transaction':
        transaction_id = secrets.token_hex(16).upper()
    if options.fault == 'wrong-nonce':
        recipient_nonce = os.urandom(16)
    attributes = [('transaction_id', transaction_id), ('message_type', '3'), ('pki_status', status),
                  ('sender_nonce', os.urandom(16)), ('recipient_nonce', recipient_nonce)]
    if status == FAILURE:
        attributes.append(('fail_info', str(fail_info)))
        if fail_text:
            attributes.append(('fail_info_text', fail_text))
    if content is None and options.pending_with_content:
        content = b''
    return signed_message(authority.signer, attributes, content, options.reply_digest,
                          SIGNATURE_OIDS[options.signature_oid], corrupt=options.fault == 'bad-signature')


def check_self_signed(cert, csr):
    """A PKCSReq's self-signed signer certificate must verify with its own key; it SHOULD hold
    the CSR's key (RFC 8894 section 2.3): a note for the log when it does not."""
    algorithm = cert['signature_algorithm']['algorithm'].native
    family, hash_name = SIGNATURE_ALGORITHMS.get(algorithm, (None, None))
    if hash_name is None:
        raise BadRequest(f'the signer certificate is signed with {algorithm}')
    verify_signature(public_key(cert.public_key), family, hash_name, cert.signature,
                     cert['tbs_certificate'].dump(), 'the self-signed signer certificate')
    return '' if cert.public_key.dump() == csr.spki.dump() else ' (the signer key is not the CSR key)'


def answer(authority, options, der):
    """Handles one PKIOperation; returns (reply DER, what was asked, what was answered).
    Raises BadRequest for anything malformed or unverifiable (the caller answers HTTP 400)."""
    request = parse_pki_message(der, need_content=True)
    kind = MESSAGE_TYPES.get(request.attributes['message_type'], 'messageType ' + request.attributes['message_type'])
    if kind not in ('PKCSReq', 'RenewalReq', 'CertPoll', 'GetCert', 'GetCRL'):
        raise BadRequest(f'{kind} is not a request')
    inner, encrypted_to = open_envelope(request.econtent, authority)
    asked = f'{kind} tx={request.attributes["transaction_id"]} signer="{describe(request.signer)}" to="{describe(encrypted_to)}"'
    if len(request.attributes['sender_nonce']) != 16:
        asked += f' (senderNonce of {len(request.attributes["sender_nonce"])} bytes, RFC 8894 says 16)'

    def fail(info, text):
        return cert_rep(authority, options, request, FAILURE, info, text), asked, f'FAILURE failInfo={info} "{text}"'

    csr = poll = None
    if kind in ('PKCSReq', 'RenewalReq'):
        csr = parse_csr(inner)
    elif kind == 'CertPoll':
        poll = load(IssuerAndSubject, inner, 'IssuerAndSubject')
    if kind == 'PKCSReq' and request.signer.issuer == request.signer.subject:
        asked += check_self_signed(request.signer, csr)
    if options.status == 'failure':
        return fail(options.fail_info, options.fail_text)
    if kind in ('GetCert', 'GetCRL'):
        return fail(BAD_REQUEST, f'{kind} is not supported by this server')
    if kind == 'PKCSReq' and options.challenge_required and csr.challenge != options.challenge:
        return fail(BAD_REQUEST, 'wrong challenge password' if csr.challenge else 'no challenge password')
    if kind == 'RenewalReq':
        problem = authority.renewal_problem(request.signer)
        if problem:
            return fail(BAD_REQUEST, problem)
    record = authority.transaction(request.attributes['transaction_id'], csr.der if csr else None)
    if kind == 'CertPoll':
        if record['csr'] is None:
            return fail(BAD_CERT_ID, 'no such transaction')
        csr = parse_csr(base64.b64decode(record['csr']))
        if poll['subject'] != csr.subject or poll['issuer'] not in (authority.issuer.cert.subject, authority.root.cert.subject):
            return fail(BAD_CERT_ID, 'CertPoll issuer or subject does not match the transaction')
    if options.status == 'pending' or record['count'] <= options.pending_count:
        return cert_rep(authority, options, request, PENDING), asked, f'PENDING (message {record["count"]})'
    if request.signer.public_key.algorithm == 'ec' and options.ec_reply == 'refuse':
        return fail(BAD_ALG, 'EC keys are not supported')
    cert = authority.issue(csr, options.lifetime)
    content = envelope(degenerate([cert] + authority.chain), request.signer, options.reply_cipher,
                       options.ec_reply, options.challenge, os.urandom(16) if options.kari_ukm else None)
    reply = cert_rep(authority, options, request, SUCCESS, content=content)
    return reply, asked, f'SUCCESS serial={cert.serial_number:x} subject="{describe(cert)}"'


# --------------------------------------------------------------------------------------------
# HTTP

class Handler(http.server.BaseHTTPRequestHandler):
    """GetCACaps, GetCACert and PKIOperation (POST body or GET message=), one log line each."""
    protocol_version = 'HTTP/1.1'
    server_version = 'scep-oracle'
    timeout = 60

    def log_message(self, *args):  # replaced by one line per request in _serve
        pass

    def do_GET(self):
        self._serve(None)

    def do_POST(self):
        length = self.headers.get('Content-Length', '')
        if not length.isdigit():  # chunked bodies are not supported
            self.close_connection = True
            return self._send(411, 'text/plain', b'Content-Length required\n', '', 'POST without Content-Length')
        self._serve(self.rfile.read(int(length)))

    def _serve(self, body):
        query = urllib.parse.urlsplit(self.path).query
        params = {}
        for part in filter(None, query.split('&')):  # not parse_qs: a raw '+' must stay a '+'
            name, _, value = part.partition('=')
            params[urllib.parse.unquote(name)] = urllib.parse.unquote(value)
        operation = params.get('operation', '')
        authority, options = self.server.authority, self.server.options
        with self.server.lock:
            try:
                code, content_type, data, note = 200, 'text/plain', b'', ''
                if operation == 'GetCACaps':
                    data = ''.join(c.strip() + '\r\n' for c in options.caps.split(',') if c.strip()).encode()
                elif operation == 'GetCACert':
                    content_type, data = authority.ca_cert_response()
                    note = f'bag={authority.bag_mode} ({len(authority.bag)} certificates)'
                elif operation == 'PKIOperation':
                    if body is None:
                        try:
                            body = base64.b64decode(params.get('message', ''), validate=True)
                        except ValueError:
                            raise BadRequest('message= is not standard base64') from None
                    elif self.headers.get('Content-Type') != 'application/x-pki-message':
                        note = f'(Content-Type {self.headers.get("Content-Type")}) '
                    data, asked, answered = answer(authority, options, body)
                    authority.save_message(asked.split()[0], body, data)
                    content_type, note = 'application/x-pki-message', note + asked + ' -> ' + answered
                else:
                    raise BadRequest(f'unsupported operation "{operation}"')
            except BadRequest as error:
                code, content_type, data, note = 400, 'text/plain', (str(error) + '\n').encode(), 'refused: ' + str(error)
                if operation == 'PKIOperation' and body:
                    authority.save_message('refused', body, None)
            except Exception as error:  # a bug in the oracle, not in the request
                code, content_type, data, note = 500, 'text/plain', b'oracle error\n', f'ORACLE ERROR {error!r}'
        self._send(code, content_type, data, operation, note)

    def _send(self, code, content_type, data, operation, note):
        self.send_response(code)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        line = f'{self.command} {operation or self.path} {code} {note}'.rstrip()
        print(' '.join(line.split()), file=sys.stderr, flush=True)  # one line, whatever the note holds


def serve(options):
    authority = Authority(options.state, options.bag)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', options.port), Handler)
    server.daemon_threads = True
    server.authority, server.options, server.lock = authority, options, threading.Lock()
    print('ready', flush=True)
    server.serve_forever()


# --------------------------------------------------------------------------------------------
# Offline commands

def read_der(path):
    with open(path, 'rb') as f:
        data = f.read()
    return pem.unarmor(data)[2] if pem.detect(data) else data


def command_reply(options):
    """reply: the server's answer to one request file, no HTTP; exit 1 with the reason if refused."""
    authority = Authority(options.state, options.bag)
    request = read_der(options.request)
    try:
        data, asked, answered = answer(authority, options, request)
    except BadRequest as error:
        print(f'refused: {error}', file=sys.stderr)
        return 1
    except ValueError as error:  # an impossible combination of options, e.g. kari with single DES
        print(f'oracle error: {error}', file=sys.stderr)
        return 2
    with open(options.out, 'wb') as f:
        f.write(data)
    print(f'{asked} -> {answered}', file=sys.stderr)
    return 0


def command_request(options):
    """request: a test client's pkiMessage (RSA or EC signer), encrypted to the server."""
    authority = Authority(options.state, options.bag)
    key, cert = read_key(options.key), read_cert(options.cert)
    csr_der = read_der(options.csr)
    if options.type == 'certpoll':
        subject = acsr.CertificationRequest.load(csr_der)['certification_request_info']['subject']
        inner = IssuerAndSubject({'issuer': authority.issuer.cert.subject, 'subject': subject}).dump()
    else:
        inner = csr_der
    content = envelope(inner, authority.decrypters[0].cert, options.cipher)
    transaction_id = options.transaction_id or hashlib.sha256(cert.public_key.dump()).hexdigest().upper()
    message_type = {'pkcsreq': '19', 'renewalreq': '17', 'certpoll': '20'}[options.type]
    signature_oid = 'rsassa_pkcs1v15' if isinstance(key, rsa.RSAPrivateKey) else options.digest + '_ecdsa'
    attributes = [('transaction_id', transaction_id), ('message_type', message_type), ('sender_nonce', os.urandom(16))]
    with open(options.out, 'wb') as f:
        f.write(signed_message(Identity(cert, key), attributes, content, options.digest, signature_oid))
    return 0


def command_show(options):
    """show: verify a pkiMessage's signature and digest, print its attributes as name=value."""
    try:
        message = parse_pki_message(read_der(options.input), need_content=False,
                                    allowed_digests=('sha1', 'sha256', 'sha384', 'sha512'))
    except BadRequest as error:
        print(f'refused: {error}', file=sys.stderr)
        return 1
    names = {'message_type': 'messageType', 'pki_status': 'pkiStatus', 'fail_info': 'failInfo',
             'fail_info_text': 'failInfoText', 'transaction_id': 'transactionID',
             'sender_nonce': 'senderNonce', 'recipient_nonce': 'recipientNonce'}
    for name, label in names.items():
        value = message.attributes.get(name)
        if value is not None:
            print(f'{label}={value.hex() if isinstance(value, bytes) else value}')
    econtent = message.econtent
    print('eContent=' + ('absent' if econtent is None else 'empty' if econtent == b'' else f'{len(econtent)} bytes'))
    print(f'signer={describe(message.signer)}')
    print(f'digest={message.digest_name}')
    return 0


def reply_arguments(parser):
    """The options that shape replies, shared by the server and `reply`."""
    parser.add_argument('--state', required=True, help='directory for the CA, issued certificates, transactions')
    parser.add_argument('--bag', choices=BAGS, default='ca', help='what GetCACert returns and who signs (default ca)')
    parser.add_argument('--caps', default=DEFAULT_CAPS, help='GetCACaps, comma-separated')
    parser.add_argument('--challenge', default='s3cret', help='PKCSReq challenge password (and the PWRI password)')
    parser.add_argument('--no-challenge', dest='challenge_required', action='store_false')
    parser.add_argument('--lifetime', type=int, default=86400, help='issued certificate lifetime, seconds')
    parser.add_argument('--status', choices=('success', 'pending', 'failure'), default='success')
    parser.add_argument('--fail-info', type=int, choices=range(5), default=BAD_REQUEST)
    parser.add_argument('--fail-text', default=None)
    parser.add_argument('--pending-count', type=int, default=0, help='PENDING for the first N messages of a transaction')
    parser.add_argument('--pending-with-content', action='store_true', help='empty eContent in PENDING/FAILURE')
    parser.add_argument('--reply-digest', choices=('sha256', 'sha1', 'sha512'), default='sha256')
    parser.add_argument('--reply-cipher', choices=('aes128', 'aes256', 'des3', 'des'), default='aes128')
    parser.add_argument('--signature-oid', choices=sorted(SIGNATURE_OIDS), default='rsaEncryption')
    parser.add_argument('--ec-reply', choices=('kari', 'pwri', 'refuse'), default='kari')
    parser.add_argument('--kari-ukm', action='store_true', help='put a random ukm in KeyAgreeRecipientInfo')
    parser.add_argument('--fault', choices=('none', 'bad-signature', 'wrong-nonce', 'wrong-transaction'), default='none')


def main(argv):
    command = argv[0] if argv and argv[0] in ('init', 'reply', 'request', 'show') else 'serve'
    parser = argparse.ArgumentParser(prog='scep_oracle.py' + ('' if command == 'serve' else ' ' + command))
    if command == 'serve':
        parser.add_argument('--port', type=int, required=True)
        reply_arguments(parser)
    elif command == 'init':
        parser.add_argument('--state', required=True)
        parser.add_argument('--bag', choices=BAGS, default='ca')
    elif command == 'reply':
        reply_arguments(parser)
        parser.add_argument('--request', required=True)
        parser.add_argument('--out', required=True)
    elif command == 'request':
        parser.add_argument('--state', required=True)
        parser.add_argument('--bag', choices=BAGS, default='ca')
        parser.add_argument('--key', required=True, help='signer private key (PEM, RSA or EC)')
        parser.add_argument('--cert', required=True, help='signer certificate')
        parser.add_argument('--csr', required=True, help='PKCS#10 request (PEM or DER); CertPoll uses its subject')
        parser.add_argument('--type', choices=('pkcsreq', 'renewalreq', 'certpoll'), required=True)
        parser.add_argument('--transaction-id')
        parser.add_argument('--digest', choices=('sha256', 'sha384', 'sha512'), default='sha256')
        parser.add_argument('--cipher', choices=('aes128', 'aes256', 'des3'), default='aes128')
        parser.add_argument('--out', required=True)
    else:
        parser.add_argument('--in', dest='input', required=True)
    options = parser.parse_args(argv[1:] if command != 'serve' else argv)
    named_hash = SIGNATURE_ALGORITHMS[SIGNATURE_OIDS[options.signature_oid]][1] if 'signature_oid' in options else None
    if named_hash not in (None, getattr(options, 'reply_digest', None)):
        parser.error(f'--signature-oid {options.signature_oid} does not match --reply-digest {options.reply_digest}')
    if command == 'serve':
        return serve(options)
    if command == 'init':
        print(Authority(options.state, options.bag).pin)
        return 0
    return {'reply': command_reply, 'request': command_request, 'show': command_show}[command](options)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
