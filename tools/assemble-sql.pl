#!/usr/bin/perl
# assemble-sql.pl SOURCE > SCRIPT
#
# Writes an extension script from its source: every line "\ir PATH" is
# replaced by the file at PATH (relative to the including file), itself
# expanded the same way.  The sources under sql/src/ keep one definition
# of each object; the Makefile assembles the scripts of the version in
# development from them.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;

my %seen;

sub expand {
	my ($path, $depth) = @_;
	die "assemble-sql: $path: includes nest too deep\n" if $depth > 8;
	open(my $fh, '<', $path) or die "assemble-sql: cannot read $path: $!\n";
	while (my $line = <$fh>) {
		if ($line =~ /^\\ir\s+(\S+)\s*$/) {
			my $inc = File::Spec->catfile(dirname($path), $1);
			die "assemble-sql: $path includes $inc twice\n" if $seen{$inc}++;
			expand($inc, $depth + 1);
		} else {
			print $line;
		}
	}
	close($fh);
}

die "usage: assemble-sql.pl SOURCE\n" unless @ARGV == 1;
expand($ARGV[0], 0);
