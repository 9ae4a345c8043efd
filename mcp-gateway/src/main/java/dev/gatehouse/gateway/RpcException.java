package dev.gatehouse.gateway;

/** A request the gateway cannot decode (bad JSON-RPC, bad params): thrown while decoding, answered by the door. */
final class RpcException extends RuntimeException {
  private final RpcError error;

  RpcException(RpcError error) {
    super(error.message(), null, false, false);
    this.error = error;
  }

  RpcException(int code, String message) {
    this(RpcError.of(code, message));
  }

  RpcError error() {
    return error;
  }
}
