#include "storage/text.hpp"

#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <rapidjson/encodings.h>

namespace keepa::db {

namespace {

/// RapidJSON's input stream concept over [pos, end); past the end it reads
/// NUL, which continues no multi-byte sequence.
struct bounded_stream {
  using Ch = char;
  const char* pos;
  const char* end;

  Ch Peek() const {
    return pos < end ? *pos : '\0';
  }

  Ch Take() {
    return pos < end ? *pos++ : '\0';
  }

  size_t Tell() const {
    return 0;
  }
};

} // namespace

bool repair_utf8(std::string& x) {
  // RapidJSON's decoder follows the Unicode DFA: it rejects overlong forms,
  // surrogates and code points above U+10FFFF.
  std::string out;
  bool changed = false;
  const char* first = x.data();
  const char* last = first + x.size();
  for (const char* i = first; i < last;) {
    bounded_stream in{i, last};
    unsigned cp = 0;
    if (!rapidjson::UTF8<>::Decode(in, &cp)) {
      if (!changed)
        out.assign(first, i);
      changed = true;
      out += "\xEF\xBF\xBD"; // U+FFFD
      ++i;
      continue;
    }
    if (cp == 0) {
      if (!changed)
        out.assign(first, i);
      changed = true;
    } else if (changed) {
      out.append(i, in.pos);
    }
    i = in.pos;
  }
  if (changed)
    x = std::move(out);
  return changed;
}

namespace {

/// Elements that separate words when a page is rendered.
bool separates(const xmlChar* name) {
  static const char* const names[]
    = {"br", "p",  "div", "li", "ul", "ol", "tr", "td", "th", "table",
       "hr", "h1", "h2",  "h3", "h4", "h5", "h6", "dd", "dt", "blockquote"};
  for (auto x : names)
    if (xmlStrcasecmp(name, reinterpret_cast<const xmlChar*>(x)) == 0)
      return true;
  return false;
}

/// Appends the text below `node`, in document order.
void append_text(const xmlNode* node, std::string& out) {
  for (auto* x = node; x != nullptr; x = x->next) {
    if (x->type == XML_TEXT_NODE || x->type == XML_CDATA_SECTION_NODE) {
      if (x->content != nullptr)
        out += reinterpret_cast<const char*>(x->content);
    } else if (x->type == XML_ELEMENT_NODE) {
      auto gap = separates(x->name);
      if (gap)
        out += ' ';
      // Script and style bodies are not text a reader sees.
      if (xmlStrcasecmp(x->name, reinterpret_cast<const xmlChar*>("script"))
            != 0
          && xmlStrcasecmp(x->name, reinterpret_cast<const xmlChar*>("style"))
            != 0)
        append_text(x->children, out);
      if (gap)
        out += ' ';
    }
  }
}

/// `x` with runs of whitespace (ASCII and U+00A0) as one space, trimmed.
std::string collapse_spaces(const std::string& x) {
  std::string out;
  bool gap = false;
  for (size_t i = 0; i < x.size(); ++i) {
    auto c = static_cast<unsigned char>(x[i]);
    bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
      || c == '\v';
    if (c == 0xC2 && i + 1 < x.size()
        && static_cast<unsigned char>(x[i + 1]) == 0xA0) {
      space = true;
      ++i;
    }
    if (space) {
      gap = !out.empty();
      continue;
    }
    if (gap)
      out += ' ';
    gap = false;
    out += static_cast<char>(c);
  }
  return out;
}

} // namespace

std::string clean_title(const std::string& raw) {
  if (raw.find_first_of("&<") == std::string::npos)
    return collapse_spaces(raw);
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });
  // A fragment: the parser wraps it in <html><body><p> and decodes every
  // character reference it knows; text that is no tag (a lone '<') stays.
  auto opts = HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET
    | HTML_PARSE_NOBLANKS;
  std::unique_ptr<xmlDoc, void (*)(xmlDocPtr)> doc{
    htmlReadMemory(raw.data(), static_cast<int>(raw.size()), nullptr, "UTF-8",
                   opts),
    xmlFreeDoc};
  if (!doc)
    return collapse_spaces(raw);
  std::string text;
  append_text(xmlDocGetRootElement(doc.get()), text);
  return collapse_spaces(text);
}

} // namespace keepa::db
