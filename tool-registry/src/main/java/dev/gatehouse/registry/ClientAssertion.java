package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;

/**
 * {@code private_key_jwt} client authentication (RFC 7523, OpenID Connect Core 9): a short-lived JWT,
 * issued and subject the client, audience the token endpoint, signed with the client's private key
 * (RS256 for RSA, ES256 for EC P-256), one per token request.
 */
final class ClientAssertion {
  static final String TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
  /** How long an assertion is valid: one request's worth. */
  static final long LIFETIME_SECONDS = 60;

  private ClientAssertion() {}

  static String sign(UpstreamConfig.Auth auth, URI tokenEndpoint) throws IOException, GeneralSecurityException {
    PrivateKey key = load(Path.of(auth.privateKeyFile()));
    String alg = key instanceof RSAPrivateKey ? "RS256" : "ES256";
    ObjectNode header = Json.object().put("alg", alg).put("typ", "JWT");
    if (auth.keyId() != null) {
      header.put("kid", auth.keyId());
    }
    long now = Instant.now().getEpochSecond();
    ObjectNode claims = Json.object().put("iss", auth.clientId()).put("sub", auth.clientId()).put("aud", tokenEndpoint.toString())
        .put("jti", UUID.randomUUID().toString()).put("iat", now).put("exp", now + LIFETIME_SECONDS);
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String signingInput = b64.encodeToString(Json.bytes(header)) + "." + b64.encodeToString(Json.bytes(claims));
    // JWS wants ECDSA signatures as R || S, which the P1363 form is.
    Signature s = Signature.getInstance(alg.equals("RS256") ? "SHA256withRSA" : "SHA256withECDSAinP1363Format");
    s.initSign(key);
    s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
    return signingInput + "." + b64.encodeToString(s.sign());
  }

  /** A PKCS#8 PEM private key, RSA or EC P-256. */
  static PrivateKey load(Path file) throws IOException, GeneralSecurityException {
    String pem = Files.readString(file, StandardCharsets.US_ASCII);
    int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
    int end = pem.indexOf("-----END PRIVATE KEY-----");
    if (begin < 0 || end < begin) {
      throw new GeneralSecurityException("not a PKCS#8 PEM private key (expected: -----BEGIN PRIVATE KEY-----; convert with "
          + "openssl pkcs8 -topk8 -nocrypt)");
    }
    byte[] der = Base64.getMimeDecoder().decode(pem.substring(begin + 27, end));
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    try {
      return KeyFactory.getInstance("RSA").generatePrivate(spec);
    } catch (GeneralSecurityException notRsa) {
      PrivateKey ec = KeyFactory.getInstance("EC").generatePrivate(spec);
      if (((ECPrivateKey) ec).getParams().getCurve().getField().getFieldSize() != 256) {
        throw new GeneralSecurityException("an EC key on a curve other than P-256 (expected: RSA or P-256)");
      }
      return ec;
    }
  }
}
