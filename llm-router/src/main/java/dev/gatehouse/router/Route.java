package dev.gatehouse.router;

/**
 * Where a call went: the provider (its configured name), the model as the provider knows it, and the
 * id of the key used (never the key). The gateway puts these in response headers and audit steps.
 *
 * @param provider the provider's configured name, such as {@code openai}
 * @param model the provider's model name, such as {@code gpt-4o-mini}
 * @param keyId the configured id of the key, or {@code key-<n>}; {@code sigv4} for Bedrock credentials,
 *     {@code none} for a keyless local server
 */
public record Route(String provider, String model, String keyId) {
  public Route {
    if (provider == null || provider.isBlank() || model == null || model.isBlank() || keyId == null) {
      throw new IllegalArgumentException("route: provider '" + provider + "', model '" + model
          + "' (expected: a provider, a model and a key id)");
    }
  }

  /** {@code provider/model}, the form clients and policies use. */
  public String target() {
    return provider + "/" + model;
  }

  @Override
  public String toString() {
    return target() + " (key " + keyId + ")";
  }
}
