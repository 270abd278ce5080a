// The Desk's static files (desk_files.hpp).
#include "m/server/desk_files.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <utility>

namespace m::server {

namespace fs = std::filesystem;

namespace {

std::string content_type_of(const fs::path& p) {
    static const std::pair<const char*, const char*> k_types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const std::string ext = p.extension().string();
    for (const auto& [e, type] : k_types) {
        if (ext == e) return type;
    }
    return "application/octet-stream";
}

std::optional<std::string> read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

} // namespace

DeskFiles::DeskFiles(const fs::path& root) {
    std::error_code ec;
    m_root = fs::canonical(root, ec);
    if (ec) m_root = root.lexically_normal();
}

std::optional<DeskFile> DeskFiles::file(std::string_view relative) const {
    if (relative.empty() || relative.find('\0') != std::string_view::npos) return std::nullopt;
    std::error_code ec;
    // canonical() follows every symlink and `..`; what it names must still be under the root.
    const fs::path resolved = fs::canonical(m_root / fs::path(relative), ec);
    if (ec) return std::nullopt;
    const auto [root_end, ignored] =
        std::mismatch(m_root.begin(), m_root.end(), resolved.begin(), resolved.end());
    if (root_end != m_root.end() || !fs::is_regular_file(resolved, ec)) return std::nullopt;
    auto content = read_all(resolved);
    if (!content) return std::nullopt;
    DeskFile out;
    out.content = std::move(*content);
    out.content_type = content_type_of(resolved);
    const fs::path inside = resolved.lexically_relative(m_root);
    out.immutable = !inside.empty() && *inside.begin() == "assets";
    return out;
}

DeskFile DeskFiles::index() const {
    DeskFile out;
    out.content = read_all(m_root / "index.html").value_or("");
    out.content_type = "text/html; charset=utf-8";
    return out;
}

} // namespace m::server
