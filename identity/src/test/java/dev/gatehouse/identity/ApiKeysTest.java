package dev.gatehouse.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Minting, hashing and matching gateway keys. */
@Timeout(10)
class ApiKeysTest {

  @Test
  void generatedKeyIsPrefixedBase62WithFullEntropy() {
    Pattern shape = Pattern.compile("gk_[0-9A-Za-z]{43}");
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      String key = ApiKeys.generate();
      assertTrue(shape.matcher(key).matches(), key);
      assertTrue(seen.add(key), "a key repeated");
    }
  }

  @Test
  void hashIsSha256HexOfTheKey() {
    // The SHA-256 test vector for "abc" (FIPS 180-2).
    assertEquals("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeys.hash("abc"));
    String key = ApiKeys.generate();
    assertTrue(ApiKeys.hash(key).matches("sha256:[0-9a-f]{64}"));
    assertEquals(ApiKeys.hash(key), ApiKeys.hash(key));
  }

  @Test
  void hashRoundTripsThroughMatches() {
    String key = ApiKeys.generate();
    String hash = ApiKeys.hash(key);
    assertTrue(ApiKeys.matches(key, hash));
    assertFalse(ApiKeys.matches(ApiKeys.generate(), hash));
    assertFalse(ApiKeys.matches(key + "x", hash));
    assertFalse(ApiKeys.matches(key, "sha256:zz"));
    assertFalse(ApiKeys.matches(key, key));
  }

  @Test
  void comparisonLooksAtTheWholeDigest() {
    // Digests differing only in the first or only in the last byte are both unequal: the comparison
    // (MessageDigest.isEqual, constant-time) does not stop at a common prefix or suffix.
    String key = ApiKeys.generate();
    String hash = ApiKeys.hash(key);
    String hex = hash.substring(7);
    String firstDiffers = "sha256:" + flip(hex.charAt(0)) + hex.substring(1);
    String lastDiffers = "sha256:" + hex.substring(0, 63) + flip(hex.charAt(63));
    assertFalse(ApiKeys.matches(key, firstDiffers));
    assertFalse(ApiKeys.matches(key, lastDiffers));
  }

  @Test
  void mintedKeyIsShownOnceAndItsYamlBindsBack() throws Exception {
    ApiKeys.Minted minted = ApiKeys.mint("ci-bot", "ci-bot", List.of("engineering"), List.of("deployer"), List.of("tools:call"),
        Optional.of("acme"), Optional.of(Instant.parse("2030-01-01T00:00:00Z")));
    assertTrue(ApiKeys.matches(minted.key(), minted.config().hash()));
    assertFalse(minted.toString().contains(minted.key()), minted::toString);
    assertFalse(minted.yaml().contains(minted.key()), minted::yaml);
    assertFalse(minted.config().toString().contains(minted.key()));

    ObjectMapper yaml = new ObjectMapper(new YAMLFactory()).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    List<ApiKeyConfig> parsed = List.of(yaml.readValue(minted.yaml(), ApiKeyConfig[].class));
    assertEquals(List.of(minted.config()), parsed);
  }

  @Test
  void mintedYamlQuotesValuesSoTheyCannotChangeItsStructure() throws Exception {
    ApiKeys.Minted minted = ApiKeys.mint("odd", "a: b\n  enabled: false # x", List.of("g\"1", "- x"), List.of(), List.of(),
        Optional.empty(), Optional.empty());
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory()).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    ApiKeyConfig parsed = yaml.readValue(minted.yaml(), ApiKeyConfig[].class)[0];
    assertEquals(minted.config(), parsed);
    assertTrue(parsed.enabled());
  }

  @Test
  void emptyKeyCannotBeHashed() {
    assertThrows(IllegalArgumentException.class, () -> ApiKeys.hash(""));
  }

  private static char flip(char hex) {
    return hex == '0' ? '1' : '0';
  }
}
