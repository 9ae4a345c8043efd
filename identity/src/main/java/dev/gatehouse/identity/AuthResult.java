package dev.gatehouse.identity;

import java.util.Locale;
import java.util.Objects;

/**
 * The outcome of {@link Authenticator#authenticate}: a {@link Principal}, or a {@link Failure} that
 * says why not. A failure is an expected outcome, not an exception: forged, expired and malformed
 * credentials all end here, never in a 500.
 */
public sealed interface AuthResult permits AuthResult.Authenticated, AuthResult.Failed {

  /** The caller was identified (or is anonymous where that is allowed). */
  record Authenticated(Principal principal) implements AuthResult {
    public Authenticated {
      Objects.requireNonNull(principal, "principal");
    }
  }

  /** The credentials were missing or refused. */
  record Failed(Failure failure) implements AuthResult {
    public Failed {
      Objects.requireNonNull(failure, "failure");
    }
  }

  /** A failed result for {@code reason}, with the status the reason implies. */
  static AuthResult failed(Reason reason, String description) {
    return new Failed(Failure.of(reason, description));
  }

  /**
   * Why credentials were refused. Deliberately coarse: it becomes a metric label, so it must stay
   * low-cardinality; the detail goes in {@link Failure#description()}.
   */
  enum Reason {
    /** No credentials, and anonymous access is not allowed. */
    MISSING,
    /** Not a JWT or gateway key at all: wrong scheme, wrong number of parts, bad base64, not JSON. */
    MALFORMED,
    /** Larger than the configured {@code max_token_bytes}. */
    TOO_LARGE,
    /** {@code alg} is {@code none} or not on the issuer's allow-list, or the token is encrypted. */
    UNSUPPORTED_ALGORITHM,
    /** The {@code typ} header is not one the issuer accepts. */
    BAD_TYPE,
    /** The header carries {@code jku}, {@code x5u}, {@code jwk} or {@code x5c}: keys are never taken from the token. */
    FORBIDDEN_HEADER,
    /** The {@code iss} claim names no configured issuer. */
    UNKNOWN_ISSUER,
    /** No key of the issuer's JWKS matches the token's {@code kid}, even after a (rate-limited) refetch. */
    UNKNOWN_KEY,
    /** The signature does not verify. */
    BAD_SIGNATURE,
    /** {@code exp} has passed (beyond the clock skew). */
    EXPIRED,
    /** {@code nbf} or {@code iat} lies in the future (beyond the clock skew). */
    NOT_YET_VALID,
    /** A required claim ({@code iss}, {@code exp}, the mapped subject) is absent. */
    MISSING_CLAIM,
    /** A claim has the wrong type (e.g. {@code groups} is a number, {@code sub} not a string). */
    BAD_CLAIM,
    /** {@code aud} names none of the issuer's configured audiences. */
    WRONG_AUDIENCE,
    /** The API key is known but disabled. */
    KEY_DISABLED,
    /** The API key is known but past its {@code expires}. */
    KEY_EXPIRED,
    /** The API key matches no configured hash. */
    UNKNOWN_API_KEY,
    /** The issuer's discovery document or keys cannot be fetched and none are cached: 503, not 401. */
    IDP_UNAVAILABLE;

    /** The HTTP status the gateway answers with: 503 when the IdP is unavailable, else 401. */
    public int status() {
      return this == IDP_UNAVAILABLE ? 503 : 401;
    }

    /** The reason as a metric label value, e.g. {@code unknown_key}. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * Why authentication failed.
   *
   * @param reason the low-cardinality reason
   * @param description what was wrong, safe to show the client: never the token, never key material
   * @param status 401, or 503 for {@link Reason#IDP_UNAVAILABLE}
   */
  record Failure(Reason reason, String description, int status) {
    public Failure {
      Objects.requireNonNull(reason, "reason");
      if (description == null || description.isBlank()) {
        throw new IllegalArgumentException("description: must not be blank");
      }
      if (status != reason.status()) {
        throw new IllegalArgumentException("status: " + status + " (expected: " + reason.status() + " for " + reason + ")");
      }
    }

    /** A failure with the status {@code reason} implies. */
    public static Failure of(Reason reason, String description) {
      return new Failure(reason, description, reason.status());
    }
  }
}
