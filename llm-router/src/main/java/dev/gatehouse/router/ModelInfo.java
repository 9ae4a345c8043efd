package dev.gatehouse.router;

import java.util.Optional;

/**
 * One entry of {@code GET /v1/models}.
 *
 * @param id what a client sends as {@code model}: an alias or {@code provider/model}
 * @param ownedBy the provider's name (for an alias, its target's provider)
 * @param aliasOf for an alias, the {@code provider/model} it stands for
 */
public record ModelInfo(String id, String ownedBy, Optional<String> aliasOf) {
  public ModelInfo {
    if (id == null || id.isBlank() || ownedBy == null) {
      throw new IllegalArgumentException("model: '" + id + "' (expected: an id and an owner)");
    }
    aliasOf = aliasOf == null ? Optional.empty() : aliasOf;
  }
}
