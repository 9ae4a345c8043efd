package dev.gatehouse.policy;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An any-of list of {@link Glob}s. Wildcard-free patterns are looked up in a hash map, so a long list of
 * exact tool names costs one lookup; the rest are tried in config order. Equal when the patterns are.
 */
public final class GlobList {

  static final GlobList EMPTY = new GlobList(List.of(), Map.of(), List.of());

  private final List<Glob> all;
  private final Map<String, Glob> literals;
  private final List<Glob> wildcards;

  private GlobList(List<Glob> all, Map<String, Glob> literals, List<Glob> wildcards) {
    this.all = all;
    this.literals = literals;
    this.wildcards = wildcards;
  }

  /** Compiles every pattern; a bad one fails with its index ({@code [2]: ...}). */
  public static GlobList of(List<String> patterns) {
    return compile("", patterns);
  }

  /**
   * Compiles every pattern; a bad one fails with its field and index ({@code allow.tools[2]: ...}).
   */
  static GlobList compile(String field, List<String> patterns) {
    if (patterns.isEmpty()) {
      return EMPTY;
    }
    List<Glob> all = new ArrayList<>(patterns.size());
    Map<String, Glob> literals = new HashMap<>();
    List<Glob> wildcards = new ArrayList<>();
    for (int i = 0; i < patterns.size(); i++) {
      Glob g;
      try {
        g = Glob.compile(patterns.get(i));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(field + "[" + i + "]: " + e.getMessage(), e);
      }
      all.add(g);
      if (g.literal()) {
        literals.putIfAbsent(g.literalText(), g);
      } else {
        wildcards.add(g);
      }
    }
    return new GlobList(List.copyOf(all), Map.copyOf(literals), List.copyOf(wildcards));
  }

  public boolean isEmpty() {
    return all.isEmpty();
  }

  /** Whether any pattern matches all of {@code s}. */
  public boolean matches(String s) {
    return match(s) != null;
  }

  /** The first glob matching {@code s}, or null: internal, kept allocation-free for the hot path. */
  Glob match(String s) {
    Glob exact = literals.get(s);
    if (exact != null) {
      return exact;
    }
    for (Glob g : wildcards) {
      if (g.matches(s)) {
        return g;
      }
    }
    return null;
  }

  /** The first glob matching any of {@code values}, or null. */
  Glob matchAny(Collection<String> values) {
    for (String v : values) {
      Glob g = match(v);
      if (g != null) {
        return g;
      }
    }
    return null;
  }

  /** The patterns as written. */
  public List<String> sources() {
    List<String> out = new ArrayList<>(all.size());
    for (Glob g : all) {
      out.add(g.source());
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GlobList other && sources().equals(other.sources());
  }

  @Override
  public int hashCode() {
    return sources().hashCode();
  }

  @Override
  public String toString() {
    return sources().toString();
  }
}
