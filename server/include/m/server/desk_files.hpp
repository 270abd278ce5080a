// The Desk's static files (`/desk/...`), served only from inside the Desk folder: a path is
// resolved with every symlink followed and must still lie under the folder's own resolved path,
// so neither `..` nor a symlink planted in the build can reach another file
// (docs/ARCHITECTURE.md, threat model). A path that is not a file there is a client-side route
// of the single-page app and gets index.html.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace m::server {

struct DeskFile {
    std::string content;
    std::string content_type;
    bool immutable = false; ///< under assets/: named by its content hash, cacheable for good
};

class DeskFiles {
public:
    /// `root` holds index.html; it is resolved once (it may itself be a symlink).
    explicit DeskFiles(const std::filesystem::path& root);

    /// The file for the part of the URL path after `/desk/` (already percent-decoded), or
    /// nullopt when there is no such regular file inside the folder.
    std::optional<DeskFile> file(std::string_view relative) const;

    /// index.html, read each time (a rebuilt Desk is served without a restart).
    DeskFile index() const;

private:
    std::filesystem::path m_root; ///< canonical
};

} // namespace m::server
