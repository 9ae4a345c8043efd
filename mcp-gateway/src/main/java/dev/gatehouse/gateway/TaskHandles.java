package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.gatehouse.registry.Json;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The task ids a 2026-07-28 client sees for tasks its calls created upstream (the tasks extension): the
 * upstream's own id sealed with where the task runs, which tool created it and whose it is. The gateway
 * keeps no table of tasks: any gateway that holds the key routes {@code tasks/get}, {@code tasks/update}
 * and {@code tasks/cancel} from the handle alone, and a handle shown to anyone but its owner (or
 * altered) opens to nothing. The key is random per process, or shared through the session store so
 * that every replica opens every handle.
 *
 * <p>Format: {@code gt1.<base64url JSON [server, tool, upstream id]>.<base64url of 16 bytes of
 * HMAC-SHA256(key, owner NUL payload)>}.
 */
final class TaskHandles {
  private static final String PREFIX = "gt1.";
  /** Longer handles are refused unread: upstream task ids are short, and a handle is a header value too. */
  static final int MAX_CHARS = 2048;
  private static final int TAG_BYTES = 16;
  private static final Base64.Encoder ENC = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DEC = Base64.getUrlDecoder();

  /** Where a task runs, the tool (as the upstream names it) whose call created it, and the upstream's id. */
  record Handle(String server, String tool, String upstreamId) {}

  private volatile SecretKeySpec key;

  TaskHandles(byte[] key) {
    use(key);
  }

  /** Handles sealed with a fresh random key: they open in this process only. */
  static TaskHandles random() {
    byte[] k = new byte[32];
    new SecureRandom().nextBytes(k);
    return new TaskHandles(k);
  }

  /** Seals with {@code key} from now on (a key shared by replicas, read at start). */
  void use(byte[] key) {
    if (key.length < 32) {
      throw new IllegalArgumentException("task handle key: " + key.length + " bytes (expected: at least 32)");
    }
    this.key = new SecretKeySpec(key.clone(), "HmacSHA256");
  }

  /** The handle {@code owner}'s client is given for the upstream task {@code upstreamId}. */
  String seal(String owner, String server, String tool, String upstreamId) {
    ArrayNode a = Json.MAPPER.createArrayNode().add(server).add(tool).add(upstreamId);
    String payload = ENC.encodeToString(Json.bytes(a));
    return PREFIX + payload + "." + ENC.encodeToString(tag(owner, payload));
  }

  /** What {@code handle} names, if it is one this gateway sealed for {@code owner}. */
  Optional<Handle> open(String owner, String handle) {
    if (handle == null || handle.length() > MAX_CHARS || !handle.startsWith(PREFIX)) {
      return Optional.empty();
    }
    int dot = handle.indexOf('.', PREFIX.length());
    if (dot < 0) {
      return Optional.empty();
    }
    String payload = handle.substring(PREFIX.length(), dot);
    try {
      if (!MessageDigest.isEqual(tag(owner, payload), DEC.decode(handle.substring(dot + 1)))) {
        return Optional.empty();
      }
      JsonNode a = Json.MAPPER.readTree(DEC.decode(payload));
      if (a == null || !a.isArray() || a.size() != 3 || !a.get(0).isTextual() || !a.get(1).isTextual() || !a.get(2).isTextual()) {
        return Optional.empty();
      }
      return Optional.of(new Handle(a.get(0).asText(), a.get(1).asText(), a.get(2).asText()));
    } catch (IllegalArgumentException | java.io.IOException e) {
      return Optional.empty(); // not base64url, or not JSON: nobody's handle
    }
  }

  private byte[] tag(String owner, String payload) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      mac.update(owner.getBytes(StandardCharsets.UTF_8));
      mac.update((byte) 0);
      return Arrays.copyOf(mac.doFinal(payload.getBytes(StandardCharsets.US_ASCII)), TAG_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }
}
