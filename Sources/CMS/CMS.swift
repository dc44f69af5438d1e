// Placeholder until the CMS layer lands: SignedData and EnvelopedData over ASN1 and Crypto.
import ASN1
