#include "cli/manpage.h"

#include <algorithm>
#include <cctype>

#include "util/fs.h"

namespace berth::cli {
namespace {

// Text as roff sees it: a backslash is \e, a hyphen \- (so it is not broken or turned into a
// dash), and a line must not start with a control character ('.' or '\'').
std::string Roff(const std::string& s) {
  std::string out;
  bool line_start = true;
  for (char ch : s) {
    if (line_start && (ch == '.' || ch == '\'')) out += "\\&";
    if (ch == '\\')
      out += "\\e";
    else if (ch == '-')
      out += "\\-";
    else
      out += ch;
    line_start = ch == '\n';
  }
  return out;
}

std::string Upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

std::vector<const CLI::App*> Visible(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); });
}

// The words of the command from the root: {"berth", "dns", "show"}.
std::vector<std::string> Path(const CLI::App& app) {
  std::vector<std::string> p;
  for (const CLI::App* a = &app; a; a = a->get_parent()) p.push_back(a->get_name());
  std::reverse(p.begin(), p.end());
  return p;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string OptionItem(const CLI::Option* o) {
  std::vector<std::string> names;
  for (const auto& s : o->get_snames()) names.push_back("\\fB" + Roff("-" + s) + "\\fR");
  for (const auto& l : o->get_lnames()) names.push_back("\\fB" + Roff("--" + l) + "\\fR");
  std::string item = ".TP\n" + Join(names, ", ");
  if (o->get_type_size_max() > 0) item += " \\fI" + Roff(o->get_type_name()) + "\\fR";
  item += "\n" + Roff(o->get_description());
  if (!o->get_envname().empty()) item += " (environment: " + Roff(o->get_envname()) + ")";
  if (!o->get_default_str().empty()) item += " (default: " + Roff(o->get_default_str()) + ")";
  return item + "\n";
}

std::string OptionsSection(const std::string& title, const CLI::App& app) {
  std::string out;
  for (const CLI::Option* o : app.get_options()) {
    if (!o->nonpositional() || o->get_group().empty()) continue;
    out += OptionItem(o);
  }
  return out.empty() ? "" : ".SH " + title + "\n" + out;
}

std::string Page(const CLI::App& app, const CLI::App& root, const std::string& version) {
  const auto path = Path(app);
  const std::string title = Join(path, "-");
  std::string t =
      ".TH " + Roff(Upper(title)) + " 1 \"\" \"berth " + Roff(version) + "\" \"Berth Manual\"\n";
  std::string desc = app.get_description();
  const std::string first_line = desc.substr(0, desc.find('\n'));
  t += ".SH NAME\n" + Roff(title) + " \\- " + Roff(first_line) + "\n";

  t += ".SH SYNOPSIS\n.B " + Roff(Join(path, " ")) + "\n";
  std::string synopsis = "[\\fIOPTIONS\\fR]";
  for (const CLI::Option* o : app.get_options()) {
    if (!o->get_positional() || o->nonpositional()) continue;
    std::string n = "\\fI" + Roff(o->get_name()) + "\\fR";
    synopsis += " " + (o->get_required() ? n : "[" + n + "]");
  }
  if (!Visible(app).empty()) synopsis += " \\fICOMMAND\\fR";
  t += synopsis + "\n";
  t += ".SH DESCRIPTION\n" + Roff(desc) + "\n";

  std::string args;
  for (const CLI::Option* o : app.get_options()) {
    if (!o->get_positional() || o->nonpositional()) continue;
    args += ".TP\n\\fI" + Roff(o->get_name()) + "\\fR\n" + Roff(o->get_description()) + "\n";
  }
  if (!args.empty()) t += ".SH ARGUMENTS\n" + args;
  if (auto subs = Visible(app); !subs.empty()) {
    t += ".SH COMMANDS\n";
    for (const CLI::App* s : subs) {
      std::string d = s->get_description();
      t += ".TP\n\\fB" + Roff(s->get_name()) + "\\fR\n" + Roff(d.substr(0, d.find('\n'))) +
           "\nSee \\fB" + Roff(title + "-" + s->get_name()) + "\\fR(1).\n";
    }
  }
  t += OptionsSection("OPTIONS", app);
  if (&app != &root) t += OptionsSection("GLOBAL OPTIONS", root);
  if (!root.get_footer().empty()) t += ".SH EXIT STATUS\n" + Roff(root.get_footer()) + "\n";
  t += ".SH SEE ALSO\n";
  std::vector<std::string> see;
  if (&app != &root) see.push_back("\\fBberth\\fR(1)");
  for (const CLI::App* s : Visible(app))
    see.push_back("\\fB" + Roff(title + "-" + s->get_name()) + "\\fR(1)");
  if (see.empty()) see.push_back("\\fBberth\\fR(1)");
  t += Join(see, ", ") + "\n";
  return t;
}

void Collect(const CLI::App& app, const CLI::App& root, const std::string& version,
             std::vector<ManPage>& out) {
  out.push_back({Join(Path(app), "-") + ".1", Page(app, root, version)});
  for (const CLI::App* s : Visible(app)) Collect(*s, root, version, out);
}

}  // namespace

std::vector<ManPage> ManPages(const CLI::App& root, const std::string& version) {
  std::vector<ManPage> out;
  Collect(root, root, version, out);
  return out;
}

Result<std::vector<std::string>> WriteManPages(const CLI::App& root, const std::string& version,
                                               const std::string& dir) {
  if (auto s = util::MakeDirs(dir); !s) return Fail(s.error());
  std::vector<std::string> files;
  for (const auto& p : ManPages(root, version)) {
    std::string path = dir + "/" + p.file;
    if (auto s = util::WriteFileAtomic(path, p.text); !s) return Fail(s.error());
    files.push_back(path);
  }
  return files;
}

}  // namespace berth::cli
