package dev.gatehouse.gateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals what the gateway keeps for users (their upstream tokens, consent links): AES-256-GCM with a
 * random 96-bit nonce, and associated data that binds a sealed value to its place (a row sealed for
 * one user and upstream does not open as another's). The key comes from {@code GATEHOUSE_TOKEN_KEY}
 * (32 bytes, base64), else the file {@code GATEHOUSE_TOKEN_KEY_FILE} names, else
 * {@code gatehouse-token.key} beside the config file, created (owner-only) on first use. Replicas share
 * the key through the environment.
 */
final class TokenSeal {
  private static final String PREFIX = "v1.";
  private static final int NONCE = 12;
  private static final SecureRandom RANDOM = new SecureRandom();
  private final SecretKeySpec key;

  TokenSeal(byte[] key) {
    if (key.length != 32) {
      throw new IllegalArgumentException("the token key must be 32 bytes (AES-256), base64-encoded; it is " + key.length);
    }
    this.key = new SecretKeySpec(key, "AES");
  }

  /** The key from the environment, or the key file (created when missing). */
  static TokenSeal load(Map<String, String> env, Path dir) {
    String value = env.get("GATEHOUSE_TOKEN_KEY");
    if (value != null && !value.isBlank()) {
      return new TokenSeal(decode(value.strip(), "GATEHOUSE_TOKEN_KEY"));
    }
    Path file = env.get("GATEHOUSE_TOKEN_KEY_FILE") != null ? Path.of(env.get("GATEHOUSE_TOKEN_KEY_FILE")) : dir.resolve("gatehouse-token.key");
    try {
      if (!Files.exists(file)) {
        byte[] k = new byte[32];
        RANDOM.nextBytes(k);
        try {
          Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
          Files.writeString(file, Base64.getEncoder().encodeToString(k) + "\n");
        } catch (FileAlreadyExistsException raced) {
          // another process made it first: read theirs
        } catch (UnsupportedOperationException notPosix) {
          Files.writeString(file, Base64.getEncoder().encodeToString(k) + "\n");
        }
      }
      return new TokenSeal(decode(Files.readString(file).strip(), file.toString()));
    } catch (IOException e) {
      throw new UncheckedIOException("the token key file " + file + " cannot be read or made", e);
    }
  }

  private static byte[] decode(String b64, String where) {
    try {
      return Base64.getDecoder().decode(b64);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": not base64 (expected 32 random bytes, base64-encoded: openssl rand -base64 32)");
    }
  }

  /** {@code plain} sealed for {@code aad}: {@code v1.<base64url(nonce | ciphertext | tag)>}. */
  String seal(byte[] plain, byte[] aad) {
    try {
      byte[] nonce = new byte[NONCE];
      RANDOM.nextBytes(nonce);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
      c.updateAAD(aad);
      byte[] ct = c.doFinal(plain);
      return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(ByteBuffer.allocate(NONCE + ct.length).put(nonce).put(ct).array());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
  }

  /**
   * What {@link #seal} sealed for {@code aad}.
   *
   * @throws IllegalArgumentException when it was sealed with another key or for another place, or altered
   */
  byte[] open(String sealed, byte[] aad) {
    if (sealed == null || !sealed.startsWith(PREFIX)) {
      throw new IllegalArgumentException("not a sealed value");
    }
    try {
      byte[] all = Base64.getUrlDecoder().decode(sealed.substring(PREFIX.length()));
      if (all.length < NONCE + 16) {
        throw new IllegalArgumentException("too short");
      }
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, all, 0, NONCE));
      c.updateAAD(aad);
      return c.doFinal(all, NONCE, all.length - NONCE);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("the sealed value does not open with this key here");
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a sealed value");
    }
  }
}
