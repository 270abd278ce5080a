// The request framer (request_framer.hpp). Its rules are httplib 0.11's reading rules made strict:
// whatever the framer accepts, httplib reads as the same request with the same length, so the
// bytes after it are the next request for both.
#include "m/server/request_framer.hpp"

#include <algorithm>
#include <charconv>

namespace m::server {

namespace {

constexpr std::size_t k_max_chunk_line = 64;           // "ffffffff;name=value\r\n" and then some
constexpr std::size_t k_max_framing_slack = 64 * 1024; // chunk lines beyond twice max_body

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

bool space_or_tab(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && space_or_tab(s.front())) s.remove_prefix(1);
    while (!s.empty() && space_or_tab(s.back())) s.remove_suffix(1);
    return s;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// httplib reads a body only for these methods (detail::expect_content); any other request with a
// body would leave the body to be read as the next request.
bool method_has_body(std::string_view method) {
    return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

} // namespace

void RequestFramer::reset() {
    *this = RequestFramer(m_limits);
}

RequestFramer::Status RequestFramer::fail(int status, std::string message) {
    m_phase = Phase::done;
    m_error_status = status;
    m_error = std::move(message);
    return Status::error;
}

RequestFramer::Status RequestFramer::feed(std::string_view data) {
    if (m_error_status != 0) return Status::error;
    while (m_phase == Phase::request_line || m_phase == Phase::headers) {
        const std::size_t nl = data.find('\n', m_pos);
        const bool request_line = m_phase == Phase::request_line;
        const std::size_t line_end = nl == std::string_view::npos ? data.size() : nl + 1;
        if (request_line && line_end - m_pos > m_limits.max_request_line) {
            return fail(414, "request line too long");
        }
        if (line_end > m_limits.max_header_bytes || (!request_line && line_end - m_pos > 8192)) {
            return fail(431, "request header fields too large");
        }
        if (nl == std::string_view::npos) return Status::incomplete;
        const std::string_view line = data.substr(m_pos, line_end - m_pos);
        if (line.size() < 2 || line[line.size() - 2] != '\r') {
            return fail(400, "request lines must end with CRLF");
        }
        const std::size_t offset = m_pos;
        m_pos = line_end;
        if (request_line) {
            const std::size_t space = line.find(' ');
            if (space == std::string_view::npos || space == 0) {
                return fail(400, "malformed request line");
            }
            m_method.assign(line.substr(0, space));
            m_phase = Phase::headers;
            continue;
        }
        if (line.size() == 2) {
            if (Status s = headers_done(line_end); s != Status::incomplete) return s;
            continue; // the body, below
        }
        if (Status s = header_line(line.substr(0, line.size() - 2), offset); s == Status::error) {
            return s;
        }
    }
    switch (m_phase) {
    case Phase::body: {
        const std::size_t have = data.size() - m_body_start;
        m_body_received = std::min<std::size_t>(have, m_content_length);
        if (have < m_content_length) return Status::incomplete;
        m_length = m_body_start + m_content_length;
        m_phase = Phase::done;
        return Status::complete;
    }
    case Phase::chunk_size:
    case Phase::chunk_data:
    case Phase::chunk_end:
    case Phase::last_crlf:
        return scan_chunks(data);
    case Phase::done:
        return Status::complete;
    case Phase::request_line:
    case Phase::headers:
        break;
    }
    return Status::incomplete;
}

RequestFramer::Status RequestFramer::header_line(std::string_view line, std::size_t offset) {
    if (++m_headers > m_limits.max_headers) return fail(431, "too many request header fields");
    if (space_or_tab(line.front())) return fail(400, "obsolete header line folding");
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(400, "malformed header field");
    const std::string_view name = line.substr(0, colon);
    if (std::any_of(name.begin(), name.end(), [](char c) { return space_or_tab(c); })) {
        return fail(400, "malformed header field name");
    }
    const std::string_view value = trim(line.substr(colon + 1));
    const bool length = iequals(name, "Content-Length");
    const bool encoding = iequals(name, "Transfer-Encoding");
    const bool expect = iequals(name, "Expect");
    if (!length && !encoding && !expect) return Status::incomplete;
    // httplib URL-decodes header values: "%31%30" would be a length of 10 to it.
    if (value.find('%') != std::string_view::npos) return fail(400, "malformed framing header");
    if (length) {
        if (m_has_length) return fail(400, "more than one Content-Length");
        if (value.empty() || value.size() > 18 ||
            !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return fail(400, "malformed Content-Length");
        }
        m_has_length = true;
        // Digits only and at most 18 of them (checked above): from_chars cannot fail here.
        std::from_chars(value.data(), value.data() + value.size(), m_content_length);
    } else if (encoding) {
        if (m_chunked || !iequals(value, "chunked")) {
            return fail(400, "unsupported Transfer-Encoding (only a single 'chunked')");
        }
        m_chunked = true;
    } else if (iequals(value, "100-continue")) {
        m_expect_offset = offset;
        m_expect_length = line.size() + 2;
    }
    return Status::incomplete;
}

RequestFramer::Status RequestFramer::headers_done(std::size_t end) {
    m_body_start = m_pos = end;
    if (m_chunked && m_has_length) {
        return fail(400, "both Content-Length and Transfer-Encoding");
    }
    const bool has_body = m_chunked || m_content_length > 0;
    if (has_body && !method_has_body(m_method)) {
        return fail(400, "a " + m_method + " request cannot have a body");
    }
    if (m_content_length > m_limits.max_body) {
        return fail(413, "request body too large (limit " + std::to_string(m_limits.max_body) +
                             " bytes)");
    }
    if (m_chunked) {
        m_phase = Phase::chunk_size;
    } else if (m_content_length > 0) {
        m_phase = Phase::body;
    } else {
        m_phase = Phase::done;
        m_length = end;
        return Status::complete;
    }
    return Status::incomplete; // feed() goes on with the body
}

RequestFramer::Status RequestFramer::scan_chunks(std::string_view data) {
    for (;;) {
        m_body_received = m_pos - m_body_start;
        switch (m_phase) {
        case Phase::chunk_size: {
            // Chunk framing costs bytes too: a body of 1-byte chunks is six times its size on
            // the wire. What is buffered stays within twice the limit and a little.
            if (m_body_received > 2 * m_limits.max_body + k_max_framing_slack) {
                return fail(413, "request body too large (chunks too small for a body this size; "
                                 "limit " +
                                     std::to_string(m_limits.max_body) + " bytes)");
            }
            const std::size_t nl = data.find('\n', m_pos);
            const std::size_t end = nl == std::string_view::npos ? data.size() : nl + 1;
            if (end - m_pos > k_max_chunk_line) return fail(400, "malformed chunk size");
            if (nl == std::string_view::npos) return Status::incomplete;
            std::string_view line = data.substr(m_pos, end - m_pos);
            if (line.size() < 3 || line[line.size() - 2] != '\r') {
                return fail(400, "malformed chunk size");
            }
            line.remove_suffix(2);
            line = line.substr(0, line.find(';'));
            if (line.empty() || line.size() > 16) return fail(400, "malformed chunk size");
            std::uint64_t size = 0;
            for (char c : line) {
                const int d = hex_digit(c);
                if (d < 0) return fail(400, "malformed chunk size");
                size = size * 16 + static_cast<std::uint64_t>(d);
                if (size > m_limits.max_body) break;
            }
            if (size > m_limits.max_body - m_decoded) {
                return fail(413, "request body too large (limit " +
                                     std::to_string(m_limits.max_body) + " bytes)");
            }
            m_decoded += size;
            m_pos = end;
            m_chunk_left = size;
            m_phase = size == 0 ? Phase::last_crlf : Phase::chunk_data;
            break;
        }
        case Phase::chunk_data: {
            const std::size_t take = static_cast<std::size_t>(
                std::min<std::uint64_t>(m_chunk_left, data.size() - m_pos));
            m_pos += take;
            m_chunk_left -= take;
            if (m_chunk_left > 0) {
                m_body_received = m_pos - m_body_start;
                return Status::incomplete;
            }
            m_phase = Phase::chunk_end;
            break;
        }
        case Phase::chunk_end:
        case Phase::last_crlf: {
            if (data.size() - m_pos < 2) {
                if (data.size() > m_pos && data[m_pos] != '\r') {
                    return fail(400, "malformed chunk");
                }
                return Status::incomplete;
            }
            if (data[m_pos] != '\r' || data[m_pos + 1] != '\n') {
                return fail(400, m_phase == Phase::last_crlf ? "chunk trailers are not supported"
                                                             : "malformed chunk");
            }
            m_pos += 2;
            if (m_phase == Phase::last_crlf) {
                m_body_received = m_pos - m_body_start;
                m_phase = Phase::done;
                m_length = m_pos;
                return Status::complete;
            }
            m_phase = Phase::chunk_size;
            break;
        }
        default:
            return Status::complete;
        }
    }
}

} // namespace m::server
