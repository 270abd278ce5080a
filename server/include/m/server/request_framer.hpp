// Finds where one HTTP/1.1 request ends in the bytes a connection has received, before any of it
// reaches cpp-httplib, and refuses what must never take a worker thread (docs/ARCHITECTURE.md,
// "Limits and the threat model"):
//
//   - a request line longer than max_request_line (414) or a header block longer than
//     max_header_bytes or with more than max_headers fields (431);
//   - a body larger than max_body, whether announced by Content-Length or sent chunked (413 as
//     soon as the announced size or the decoded chunks pass the limit: nothing more is buffered),
//     and a chunked body whose framing makes it more than twice max_body + 64 KiB on the wire
//     (tiny chunks, 413);
//   - anything the framer and httplib 0.11 could read differently (request smuggling): both
//     Content-Length and Transfer-Encoding, two Content-Lengths, a Transfer-Encoding other than
//     `chunked`, a malformed chunk, chunk trailers, obsolete line folding, a body on a method
//     httplib reads no body for (400).
//
// The framer is incremental: feed() is called with the whole buffer each time more bytes arrived
// and continues where it stopped, so a body arriving in many small reads costs linear time. No
// I/O, no allocation beyond its own state; fuzzed by tests/fuzz/request_framer_fuzz.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace m::server {

struct FramerLimits {
    std::size_t max_request_line = 8192;
    std::size_t max_header_bytes = 32 * 1024; ///< request line + header fields + blank line
    std::size_t max_headers = 100;
    std::size_t max_body = 1 << 20; ///< decoded body bytes
};

class RequestFramer {
public:
    enum class Status { incomplete, complete, error };

    explicit RequestFramer(FramerLimits limits = {}) : m_limits(limits) {}

    /// Scans `data` (everything received for this request and possibly more, starting at the
    /// request's first byte). Call again with the grown buffer while incomplete.
    Status feed(std::string_view data);

    /// Starts over for the next request on the connection.
    void reset();

    /// complete: the request's length in `data` (what follows is the next request).
    std::size_t length() const { return m_length; }
    /// error: the HTTP status to answer (400, 413, 414, 431) and why.
    int error_status() const { return m_error_status; }
    const std::string& error_message() const { return m_error; }

    bool headers_complete() const { return m_phase > Phase::headers; }
    /// Body bytes received so far (after the header block, framing included).
    std::size_t body_received() const { return m_body_received; }
    /// The request said `Expect: 100-continue` (its byte range, to drop it before httplib sees it:
    /// the transport answers 100 itself when the body is still to come).
    bool expects_continue() const { return m_expect_length != 0; }
    std::size_t expect_offset() const { return m_expect_offset; }
    std::size_t expect_length() const { return m_expect_length; }

private:
    enum class Phase {
        request_line,
        headers,
        body,
        chunk_size,
        chunk_data,
        chunk_end,
        last_crlf,
        done
    };

    Status fail(int status, std::string message);
    Status header_line(std::string_view line, std::size_t offset);
    Status headers_done(std::size_t end);
    Status scan_chunks(std::string_view data);

    FramerLimits m_limits;
    Phase m_phase = Phase::request_line;
    std::size_t m_pos = 0; ///< bytes of the buffer consumed so far
    std::size_t m_headers = 0;
    std::string m_method;
    bool m_has_length = false;
    std::uint64_t m_content_length = 0;
    bool m_chunked = false;
    std::size_t m_body_start = 0;
    std::size_t m_body_received = 0;
    std::uint64_t m_decoded = 0;
    std::uint64_t m_chunk_left = 0;
    std::size_t m_expect_offset = 0;
    std::size_t m_expect_length = 0;
    std::size_t m_length = 0;
    int m_error_status = 0;
    std::string m_error;
};

} // namespace m::server
