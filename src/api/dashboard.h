#pragma once

#include <string>

namespace berth::api {
// The single-page dashboard served at "/": lists environments, their phase, ports and URLs.
const std::string& DashboardHtml();
}  // namespace berth::api
