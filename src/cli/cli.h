#pragma once

namespace berth::cli {
int Main(int argc, char** argv);
}
