#!/bin/bash
# placeholder: replaced by the tunnel tests
echo "1..0 # SKIP not built yet"
