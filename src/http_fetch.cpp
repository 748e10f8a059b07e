#include "http_fetch.hpp"
