#include "crl_index.hpp"
