// The transport's socket primitives (internal to server/src): time, the answers it writes itself
// (in the error shape of docs/reference/http-api.md, "Errors"), blocking and non-blocking sends,
// addresses, signals and the descriptor limit.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace m::server::net {

int64_t now_ms();

// An answer the transport writes straight to the socket, before or instead of the library: the
// error shape of docs/reference/http-api.md, "Errors", and the connection closes after it.
std::string direct_response(int status, std::string_view reason, std::string_view body,
                            std::string_view extra_headers = {});

// The answer at the connection cap, written straight to the socket (no request is read).
const std::string& unavailable_response();

const char* reason_phrase(int status);

// A refused request (framer errors, deadlines) in the shape of docs/reference/http-api.md,
// "Errors".
std::string refusal(int status, std::string_view message);

void log_error(const char* where, const char* what);

// Our threads never take process signals, so the serve command's signal handling (a handler or a
// watching thread) sees them and none of our blocking calls is interrupted.
void block_signals_in_this_thread();

std::string frame_chunk(std::string_view data);

// Writes both parts completely on a blocking socket; SO_SNDTIMEO (the write timeout, set by the
// library's accept loop) bounds every wait. One sendmsg() for headers + body in the common case.
bool send_all(int fd, std::string_view first, std::string_view second = {});

// A non-blocking send; returns the bytes written (0 when the socket buffer is full) or -1 when
// the peer is gone.
ssize_t send_some(int fd, std::string_view data);

void socket_address(int fd, bool peer, std::string& ip, int& port);

void raise_fd_limit();

} // namespace m::server::net
