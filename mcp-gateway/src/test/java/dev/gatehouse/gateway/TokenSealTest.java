package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class TokenSealTest {
  @TempDir Path dir;

  static final byte[] PLAIN = "{\"access_token\":\"eyJ.secret\"}".getBytes(StandardCharsets.UTF_8);
  static final byte[] HERE = "user-token\0gh\0alice@idp".getBytes(StandardCharsets.UTF_8);

  @Test
  void aSealedValueOpensOnlyWithItsKeyAndForItsPlace() {
    TokenSeal seal = TokenSeal.load(Map.of(), dir);
    String sealed = seal.seal(PLAIN, HERE);
    assertTrue(sealed.startsWith("v1.") && !sealed.contains("secret"), sealed);
    assertNotEquals(sealed, seal.seal(PLAIN, HERE), "a fresh nonce each time");
    assertArrayEquals(PLAIN, seal.open(sealed, HERE));
    assertThrows(IllegalArgumentException.class, () -> seal.open(sealed, "user-token\0gh\0mallory@idp".getBytes(StandardCharsets.UTF_8)),
        "alice's row does not open as mallory's");
    TokenSeal other = new TokenSeal(new byte[32]);
    assertThrows(IllegalArgumentException.class, () -> other.open(sealed, HERE), "another key");
    char[] c = sealed.toCharArray();
    c[10] = c[10] == 'A' ? 'B' : 'A';
    assertThrows(IllegalArgumentException.class, () -> seal.open(new String(c), HERE), "an altered value");
    assertThrows(IllegalArgumentException.class, () -> seal.open("plain", HERE));
  }

  @Test
  void theKeyComesFromTheEnvironmentElseAnOwnerOnlyFileMadeOnce() throws Exception {
    TokenSeal first = TokenSeal.load(Map.of(), dir);
    Path file = dir.resolve("gatehouse-token.key");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertArrayEquals(PLAIN, TokenSeal.load(Map.of(), dir).open(first.seal(PLAIN, HERE), HERE), "the same key next time");
    String env = Base64.getEncoder().encodeToString(new byte[32]);
    assertArrayEquals(PLAIN, new TokenSeal(new byte[32]).open(TokenSeal.load(Map.of("GATEHOUSE_TOKEN_KEY", env), dir).seal(PLAIN, HERE), HERE));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TokenSeal.load(Map.of("GATEHOUSE_TOKEN_KEY", Base64.getEncoder().encodeToString(new byte[16])), dir));
    assertTrue(e.getMessage().contains("32 bytes"), e.getMessage());
  }
}
