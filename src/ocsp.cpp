#include "ocsp.hpp"
