// Server-Sent Events framing (the text/event-stream grammar of docs/PROTOCOL.md, "Server-Sent
// Events"): pure functions, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bazaar::httpd {

/// One event as the stream carries it: "event: <kind>\n", one "data: " line per line of `data`
/// (a CR, LF or CRLF in `data` starts a new data line, so no byte of it can end the event or
/// forge a field), then a blank line. `kind` must be a plain token (letters, digits, '_', '-');
/// anything else is replaced by '_'.
std::string format_sse_event(std::string_view kind, std::string_view data);

/// A comment line (": <text>\n\n"): ignored by EventSource, it keeps idle connections alive and
/// makes a dead peer visible to the writer. Line breaks in `text` become spaces.
std::string format_sse_comment(std::string_view text);

/// "retry: <ms>\n\n": how long a browser waits before reconnecting after the stream ends.
std::string format_sse_retry(std::uint32_t ms);

/// The head of a GET /events reply: 200, text/event-stream, no caching, and Connection: close
/// (the body runs until either side closes, so it needs no length and no chunking).
/// `http_version` 10 answers HTTP/1.0, anything else HTTP/1.1.
std::string sse_response_head(unsigned http_version);

/// data of an "item" event: {"name":<name>,"version":<version>} (the item changed: fetch again).
std::string item_event_data(std::string_view name, std::uint64_t version);

/// data of a "leader" event: {"id":<id>,"term":<term>}.
std::string leader_event_data(std::uint32_t id, std::uint64_t term);

/// data of a "resync" event: {"reason":<reason>} (events may have been lost: fetch everything).
std::string resync_event_data(std::string_view reason);

}  // namespace bazaar::httpd
