package dev.gatehouse.gateway;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Locale;

/**
 * The {@code integrity:} section: what the gateway does when an upstream's tool, prompt or resource
 * template definition changes after it was approved, and with definitions that look poisoned.
 *
 * <pre>{@code
 * integrity:
 *   mode: warn                  # off | warn (the default) | pin; an upstream may set its own (integrity: { mode: pin })
 *   poisoning: flag             # off | flag (the default) | block
 *   max_description_chars: 4096
 *   lock_file: gatehouse.lock   # optional: fingerprints pinned up front (gatehouse integrity lock writes it)
 *   store: sqlite:./integrity.db   # optional: approvals elsewhere than beside the audit chain
 * }</pre>
 *
 * @param mode {@code off}: nothing is checked; {@code warn}: a changed definition is served, and
 *     recorded, counted and logged with its diff; {@code pin}: a changed definition is withheld from
 *     every list and its calls refused, naming what changed, until an admin approves it
 * @param poisoning {@code flag}: findings are reported (admin, metric, log); {@code block}: a
 *     definition with findings is withheld until approved; {@code off}: not checked
 * @param maxDescriptionChars a description longer than this is a finding ({@code long-description})
 * @param lockFile a lock file ({@code gatehouse integrity lock} writes it; relative to the config file)
 *     whose fingerprints are the approved ones: a definition that differs, or is not in it, is a change
 * @param store where approvals and rejections are kept when not beside the audit chain: a
 *     {@code sqlite:PATH} or {@code postgresql://…} URL, as {@code audit.store} takes (read at start)
 */
public record IntegritySettings(
    @JsonProperty("mode") Mode mode,
    @JsonProperty("poisoning") Poison poisoning,
    @JsonProperty("max_description_chars") Integer maxDescriptionChars,
    @JsonProperty("lock_file") String lockFile,
    @JsonProperty("store") String store) {

  /** What a changed definition gets. */
  public enum Mode {
    OFF, WARN, PIN;

    @JsonCreator
    public static Mode parse(String s) {
      for (Mode m : values()) {
        if (m.name().equalsIgnoreCase(s)) {
          return m;
        }
      }
      throw new IllegalArgumentException("mode: '" + s + "' (expected: off, warn or pin)");
    }

    String wire() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** What a definition with poisoning findings gets. */
  public enum Poison {
    OFF, FLAG, BLOCK;

    @JsonCreator
    public static Poison parse(String s) {
      for (Poison p : values()) {
        if (p.name().equalsIgnoreCase(s)) {
          return p;
        }
      }
      throw new IllegalArgumentException("poisoning: '" + s + "' (expected: off, flag or block)");
    }
  }

  public IntegritySettings {
    mode = mode == null ? Mode.WARN : mode;
    poisoning = poisoning == null ? Poison.FLAG : poisoning;
    maxDescriptionChars = maxDescriptionChars == null ? 4096 : maxDescriptionChars;
    if (store != null) {
      dev.gatehouse.audit.AuditSettings.defaults().withStore(store); // the same check as audit.store: a precise error now
    }
    if (lockFile != null && lockFile.isBlank()) {
      throw new IllegalArgumentException("lock_file: empty (expected: a path, e.g. gatehouse.lock)");
    }
    if (maxDescriptionChars < 64 || maxDescriptionChars > 1_000_000) {
      throw new IllegalArgumentException("max_description_chars: " + maxDescriptionChars + " (expected: 64..1000000)");
    }
  }

  public static IntegritySettings defaults() {
    return new IntegritySettings(null, null, null, null, null);
  }
}
