// Includes SOCI for the backend's translation units only. Debian builds SOCI
// with SOCI_HAVE_BOOST but does not pull in the Boost headers; the Boost
// parts are header-only conversions (boost::optional, tuple, fusion) we do
// not use, so switching them off changes no library ABI.

#pragma once

#include <soci/soci-config.h>

#undef SOCI_HAVE_BOOST
#undef SOCI_HAVE_BOOST_DATE_TIME

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
