/*
 * dl.c - libraries loaded when first needed (dl.h).
 */
#include "dl.h"
#include "log.h"

#include <dlfcn.h>

void *dl_open(const char *soname, const char *what)
{
	/* RTLD_NOW: a symbol missing from an older library fails here, not
	 * at its first call; RTLD_LOCAL: its names stay its own */
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		error("%s needs %s, which cannot be loaded: %s", what, soname, dlerror());
	return h;
}

void *dl_sym(void *h, const char *soname, const char *name)
{
	void *p;

	dlerror();
	p = dlsym(h, name);
	if (!p)
		error("%s has no %s: %s", soname, name, dlerror());
	return p;
}
