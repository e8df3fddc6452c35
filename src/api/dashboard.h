#pragma once

#include <string>

namespace berth::api {
// The single-page dashboard served at "/": one self-contained HTML page (inline style and
// script, pinned by a Content-Security-Policy with their hashes; nothing loaded from elsewhere)
// over the REST API. It lists environments, follows the selected one's watch stream, creates,
// rebuilds and deletes environments, shows logs and events, and asks for the API token when
// the TCP listener wants one.
const std::string& DashboardHtml();
}  // namespace berth::api
