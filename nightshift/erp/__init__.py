"""The ERP integration: a connector interface (which ERP answers is a setting), the account
routines' shared helpers, and the class transition rules screen."""
