// The connection half of a libcurl handle's set-up, shared by HttpClient and WebSocket: where
// to connect (URL, unix socket), the connect deadline and TLS (CA, client certificate).
#pragma once

#include <curl/curl.h>

#include "net/http_client.h"

namespace berth::net {

// Sets URL, NOSIGNAL, TCP_NODELAY, the unix socket, CONNECTTIMEOUT and every TLS option of
// `opts` on `c`. `url` must outlive the transfer (libcurl copies strings, but not blobs'
// owners: blobs are copied with CURL_BLOB_COPY).
void ApplyConnectionOptions(CURL* c, const ClientOptions& opts, const std::string& url);

// curl_global_init, once per process.
void EnsureCurlInitialised();

}  // namespace berth::net
